"""`.forceignore`: gitignore-style patterns, read the way the `ignore` npm package reads them.

Both reference tools use that package: sfdx-git-delta to drop changed lines, SDR to drop
files while it converts. A path is ignored when it, or one of its parent folders, matches the
last matching pattern without `!`; a file inside an ignored folder cannot be re-included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class _Rule:
    regex: re.Pattern[str]
    negated: bool
    directory_only: bool


def _translate(pattern: str) -> str:
    anchored = "/" in pattern.rstrip("/")
    body = pattern.strip("/")
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if body.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
            continue
        if body.startswith("/**", index) and index + 3 == len(body):
            out.append("/.*")
            index += 3
            continue
        if body.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = body.find("]", index + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                cls = body[index + 1 : end].replace("\\", "\\\\")
                if cls.startswith("!"):
                    cls = "^" + cls[1:]
                out.append(f"[{cls}]")
                index = end
        elif char == "\\" and index + 1 < len(body):
            index += 1
            out.append(re.escape(body[index]))
        else:
            out.append(re.escape(char))
        index += 1
    prefix = "^" if anchored else "^(?:.*/)?"
    return prefix + "".join(out) + "$"


class ForceIgnore:
    """Patterns from a `.forceignore` file (plus SDR's defaults when asked)."""

    SDR_DEFAULTS = ("**/*.dup", "**/.*", "**/package2-descriptor.json", "**/package2-manifest.json")

    def __init__(self, text: str = "", *, defaults: tuple[str, ...] = ()) -> None:
        self.text = text
        self.rules: list[_Rule] = []
        for raw in [*defaults, *text.splitlines()]:
            line = raw.rstrip("\r")
            if not line.strip() or line.startswith("#"):
                continue
            line = re.sub(r"(?<!\\)\s+$", "", line)
            negated = line.startswith("!")
            if negated:
                line = line[1:]
            if line.startswith("\\#") or line.startswith("\\!"):
                line = line[1:]
            if not line:
                continue
            self.rules.append(
                _Rule(re.compile(_translate(line), re.S), negated, line.endswith("/"))
            )

    def __bool__(self) -> bool:
        return bool(self.rules)

    def ignores(self, path: str) -> bool:
        """Whether `path` (relative to the project root, "/"-separated) is ignored."""
        return _ignores(self, path.strip("/"))

    def _test(self, path: str, is_directory: bool) -> bool:
        ignored = False
        for rule in self.rules:
            applies = rule.negated == ignored and (is_directory or not rule.directory_only)
            if applies and rule.regex.match(path):
                ignored = not rule.negated
        return ignored


@lru_cache(maxsize=4096)
def _ignores(matcher: ForceIgnore, path: str) -> bool:
    parts = path.split("/")
    for depth in range(1, len(parts)):
        if matcher._test("/".join(parts[:depth]), True):
            return True
    return matcher._test(path, False)
