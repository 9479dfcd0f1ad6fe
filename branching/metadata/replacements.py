"""`replacements` of sfdx-project.json, applied as source-deploy-retrieve applies them.

SDR (convert/replacements.ts) rewrites the text of a component's files while it converts
them: each entry names its files (`filename`, matched as the end of the path, or `glob`,
matched by minimatch as `**/<glob>`), what to replace (`stringToReplace`, literally, or
`regexToReplace`, a JavaScript regular expression, every occurrence) and with what
(`replaceWithEnv`, an environment variable, or `replaceWithFile`, a file of the project,
trimmed); `replaceWhenEnv` limits an entry to builds where every listed variable has the
listed value. Binary files are left alone.

The environment is the one of the process that builds the package (the worker), as it is
the CI job's for SDR. An unset `replaceWithEnv` variable (unless the entry sets
`allowUnsetEnvVariable`) or a missing `replaceWithFile` stops the build with a message
naming it, as SDR stops. Regular expressions run on RE2, which never backtracks: one that
needs backtracking features (look-around, back-references) is refused with a message.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import re2

from branching.git.textmerge import is_binary

_TEXT_EXTENSIONS = (".cls", ".xml", ".json", ".js", ".css", ".html", ".htm", ".txt", ".md")


class ReplacementError(ValueError):
    """A replacement cannot be applied; the message names the entry and what is missing."""


@dataclass(frozen=True)
class Replacement:
    """One entry of `replacements`, as read from sfdx-project.json."""

    filename: str = ""
    glob: str = ""
    string_to_replace: str | None = None
    regex_to_replace: str | None = None
    replace_with_env: str | None = None
    replace_with_file: str | None = None
    allow_unset: bool = False
    when_env: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        target = self.filename or self.glob
        what = (
            self.string_to_replace if self.string_to_replace is not None else self.regex_to_replace
        )
        return f"the replacement of “{what}” in {target}"


def parse_replacements(value: object) -> tuple[tuple[Replacement, ...], list[str]]:
    """The `replacements` property, and what is wrong with it (problems, not exceptions)."""
    if value is None:
        return (), []
    if not isinstance(value, list):
        return (), ["replacements must be a list."]
    found: list[Replacement] = []
    problems: list[str] = []
    for position, item in enumerate(value, start=1):
        where = f"Replacement #{position}"
        if not isinstance(item, dict):
            problems.append(f"{where} must be an object.")
            continue
        filename, glob = item.get("filename"), item.get("glob")
        if not (isinstance(filename, str) and filename) and not (isinstance(glob, str) and glob):
            problems.append(f'{where} needs a "filename" or a "glob".')
            continue
        string, regex = item.get("stringToReplace"), item.get("regexToReplace")
        if not isinstance(string, str) and not isinstance(regex, str):
            problems.append(f'{where} needs a "stringToReplace" or a "regexToReplace".')
            continue
        env, file = item.get("replaceWithEnv"), item.get("replaceWithFile")
        if not isinstance(env, str) and not isinstance(file, str):
            problems.append(f'{where} needs a "replaceWithEnv" or a "replaceWithFile".')
            continue
        conditions: list[tuple[str, str]] = []
        for condition in item.get("replaceWhenEnv") or []:
            if isinstance(condition, dict) and isinstance(condition.get("env"), str):
                conditions.append((condition["env"], _js_string(condition.get("value"))))
            else:
                problems.append(f'{where}: each "replaceWhenEnv" entry needs "env" and "value".')
        found.append(
            Replacement(
                filename=filename if isinstance(filename, str) else "",
                glob=glob if isinstance(glob, str) else "",
                string_to_replace=string if isinstance(string, str) else None,
                regex_to_replace=regex
                if isinstance(regex, str) and not isinstance(string, str)
                else None,
                replace_with_env=env if isinstance(env, str) else None,
                replace_with_file=file
                if isinstance(file, str) and not isinstance(env, str)
                else None,
                allow_unset=item.get("allowUnsetEnvVariable") is True,
                when_env=tuple(conditions),
            )
        )
    return tuple(found), problems


def _js_string(value: object) -> str:
    """JavaScript's `value.toString()` for the JSON values a condition can hold."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _minimatch(glob: str) -> Any:
    """minimatch(path, `**/<glob>`) with its defaults (no dot files unless named)."""
    out: list[str] = []
    segments = ("**/" + glob).split("/")
    for position, segment in enumerate(segments):
        last = position == len(segments) - 1
        if segment == "**":
            # any number of folders (a trailing ** also the file), none starting with a dot
            out.append("(?:[^/.][^/]*(?:/|$))*")
        else:
            out.append(_segment(segment) + ("" if last else "/"))
    return re2.compile("^/" + "".join(out) + "$")


def _segment(segment: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(segment):
        char = segment[index]
        # minimatch's default: a wildcard never matches a leading dot.
        if char == "*":
            out.append("(?:[^/.][^/]*)?" if index == 0 else "[^/]*")
        elif char == "?":
            out.append("[^/.]" if index == 0 else "[^/]")
        elif char == "[":
            end = segment.find("]", index + 2)
            if end < 0:
                out.append("\\[")
            else:
                body = segment[index + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                index = end
        elif char == "{":
            end = segment.find("}", index)
            if end < 0:
                out.append("\\{")
            else:
                choices = segment[index + 1 : end].split(",")
                out.append("(?:" + "|".join(_segment(c) for c in choices) + ")")
                index = end
        elif char == "\\" and index + 1 < len(segment):
            index += 1
            out.append(re2.escape(segment[index]))
        else:
            out.append(re2.escape(char))
        index += 1
    return "".join(out)


def _expand(template: str) -> Callable[[Any], str]:
    """JavaScript's replacement patterns in a `String.replace` replacement string."""

    def expand(match: Any) -> str:
        out: list[str] = []
        index = 0
        groups = match.re.groups
        while index < len(template):
            char = template[index]
            nxt = template[index + 1] if index + 1 < len(template) else ""
            if char != "$" or not nxt:
                out.append(char)
                index += 1
                continue
            if nxt == "$":
                out.append("$")
                index += 2
            elif nxt == "&":
                out.append(match.group(0))
                index += 2
            elif nxt == "`":
                out.append(match.string[: match.start()])
                index += 2
            elif nxt == "'":
                out.append(match.string[match.end() :])
                index += 2
            elif nxt.isdigit():
                two = template[index + 1 : index + 3]
                if len(two) == 2 and two.isdigit() and 0 < int(two) <= groups:
                    out.append(match.group(int(two)) or "")
                    index += 3
                elif 0 < int(nxt) <= groups:
                    out.append(match.group(int(nxt)) or "")
                    index += 2
                else:
                    out.append("$")
                    index += 1
            else:
                out.append("$")
                index += 1
        return "".join(out)

    return expand


class Replacer:
    """The replacements that apply in this environment, ready to run on files."""

    def __init__(
        self,
        replacements: tuple[Replacement, ...],
        read_file: Callable[[str], bytes | None],
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.environ = os.environ if environ is None else environ
        self.read_file = read_file
        self.entries = [r for r in replacements if self._applies(r)]
        self._globs = {r.glob: _minimatch(r.glob) for r in self.entries if r.glob}
        self._values: dict[Replacement, str] = {}

    def _applies(self, replacement: Replacement) -> bool:
        return all(self.environ.get(env) == value for env, value in replacement.when_env)

    def _value(self, replacement: Replacement) -> str:
        if replacement in self._values:
            return self._values[replacement]
        if replacement.replace_with_env is not None:
            name = replacement.replace_with_env
            value = self.environ.get(name)
            if value is None:
                if not replacement.allow_unset:
                    raise ReplacementError(
                        f"“{name}” is in sfdx-project.json as a value for “replaceWithEnv” "
                        f"({replacement.describe()}), but it is not set in the environment "
                        "of the worker that builds the package: set it, or add "
                        '"allowUnsetEnvVariable": true to the entry.'
                    )
                value = ""
        else:
            assert replacement.replace_with_file is not None
            content = self.read_file(replacement.replace_with_file.strip().lstrip("./"))
            if not content:
                raise ReplacementError(
                    f"The file “{replacement.replace_with_file}” named by “replaceWithFile” "
                    f"({replacement.describe()}) cannot be read at this commit."
                )
            value = content.decode("utf-8", "replace").strip()
        self._values[replacement] = value
        return value

    def _matches(self, replacement: Replacement, path: str) -> bool:
        if replacement.filename:
            return ("/" + path).endswith(replacement.filename)
        return bool(self._globs[replacement.glob].match("/" + path))

    def _regex(self, replacement: Replacement) -> Any:
        if replacement.string_to_replace is not None:
            return re2.compile(re2.escape(replacement.string_to_replace))
        try:
            return re2.compile(replacement.regex_to_replace or "")
        except re2.error as error:
            raise ReplacementError(
                f"“regexToReplace” of {replacement.describe()} cannot be used: {error} "
                "(look-around and back-references are not supported)."
            ) from None

    def apply(self, path: str, content: bytes) -> bytes:
        """The file's content after every replacement that names it."""
        matching = [r for r in self.entries if self._matches(r, path)]
        if not matching or (not path.endswith(_TEXT_EXTENSIONS) and is_binary(content)):
            return content
        text = content.decode("utf-8", "replace")
        for replacement in matching:
            text = self._regex(replacement).sub(_expand(self._value(replacement)), text)
        return text.encode("utf-8")
