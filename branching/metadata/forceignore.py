"""`.forceignore`: gitignore patterns, matched exactly as the `ignore` npm package matches them.

Both reference tools read `.forceignore` with that package (sfdx-git-delta to drop changed
lines, source-deploy-retrieve to drop files while it converts), so its semantics are the
contract, quirks included:

- matching is **case-insensitive** (the package's `ignorecase` option defaults to true);
- a path is ignored when one of its parent folders is (tested as `folder/`), or else when the
  last pattern that matches it is not negated: a file inside an ignored folder cannot be
  re-included; a pattern ending in `/` matches folders only;
- a pattern without an inner `/` matches at any depth, one with an inner or leading `/` is
  anchored at the project root; `**` at the start, in the middle and at the end of a pattern
  spans folders, anywhere else it is `*`; `a/**` matches everything inside `a` but not `a`;
- `\\` quotes the next character; `[...]` follows git's wildmatch (`!`/`^` negation, POSIX
  classes, a `]` first is a member, a bracket never matches `/`, a reversed range keeps only
  its first character); trailing spaces are trimmed unless escaped; `#` starts a comment.

Each pattern is translated the way `ignore` 7 translates it (the chain of rewrites in its
`index.js`, followed step by step below), then compiled for RE2, a matcher that never
backtracks: a hostile pattern such as `*a*a*a*a*a*a*a*a*b` costs time linear in the path.
All patterns of a file are compiled into one RE2 set, so a path is scanned once per folder
level whatever the number of patterns.

A pattern `ignore` would never let match anything (an unterminated `[`, an unknown
`[:class:]`, an escaped final slash) or that does not mean what it says (a reversed range) is
kept as `ignore` keeps it, and listed in `problems`, which the package build turns into
warnings on the deployment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import re2

# SDR's ForceIgnore.DEFAULT_IGNORE (source-deploy-retrieve 12.37, resolve/forceIgnore.js),
# added in front of the project's patterns, and only when the project has a .forceignore.
SDR_DEFAULTS = (
    "**/*.dup",
    "**/.*",
    "!.sf",
    "**/.sf/**",
    "!**/.sf/orgs",
    "!**/.sf/orgs/**",
    "**/.sf/orgs/*/**",
    "!**/.sf/orgs/*/remoteMetadata",
    "!**/.sf/orgs/*/remoteMetadata/**",
    "**/package2-descriptor.json",
    "**/package2-manifest.json",
)

_NEVER = "\x00never\x00"  # a pattern `ignore` compiles to something that matches nothing
_HOLD = "\x00"  # placeholder delimiter (NUL is in neither a pattern line nor a path)
_TRAILING_WILDCARD = "\ue000"
_TRAILING_DOUBLESTAR = "\ue001"
_RESERVED = (_HOLD, _TRAILING_WILDCARD, _TRAILING_DOUBLESTAR)
_LITERAL_SPECIAL = set(".*+?()[]{}^$|\\/")
_WILDCARD = "[^\\/]*"
# git's ASCII-only ctype classes (wildmatch.c), as code point ranges; `/` is never a member.
_POSIX: dict[str, tuple[tuple[int, int], ...]] = {
    "alnum": ((0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)),
    "alpha": ((0x41, 0x5A), (0x61, 0x7A)),
    "blank": ((0x20, 0x20), (0x09, 0x09)),
    "cntrl": ((0x00, 0x1F), (0x7F, 0x7F)),
    "digit": ((0x30, 0x39),),
    "graph": ((0x21, 0x2E), (0x30, 0x7E)),
    "lower": ((0x61, 0x7A),),
    "print": ((0x20, 0x2E), (0x30, 0x7E)),
    "punct": ((0x21, 0x2E), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)),
    "space": ((0x20, 0x20), (0x09, 0x0A), (0x0D, 0x0D)),
    "upper": ((0x41, 0x5A),),
    "xdigit": ((0x30, 0x39), (0x41, 0x46), (0x61, 0x66)),
}
_SLASH = ord("/")


class _Translation:
    """One pattern's translation, with the problems met on the way."""

    def __init__(self) -> None:
        self.held: list[str] = []
        self.problems: list[str] = []

    def hold(self, source: str) -> str:
        self.held.append(source)
        return f"{_HOLD}{len(self.held) - 1}{_HOLD}"


def _class_source(negated: bool, ranges: list[tuple[int, int]]) -> str:
    """A bracket expression for RE2; it never matches `/` (git's WM_PATHNAME)."""
    if negated:
        body = "".join(_range(lo, hi) for lo, hi in ranges)
        return f"[^/{body}]"
    kept: list[tuple[int, int]] = []
    for lo, hi in ranges:
        if lo <= _SLASH <= hi:
            if lo < _SLASH:
                kept.append((lo, _SLASH - 1))
            if hi > _SLASH:
                kept.append((_SLASH + 1, hi))
        else:
            kept.append((lo, hi))
    if not kept:
        return _NEVER
    return "[" + "".join(_range(lo, hi) for lo, hi in kept) + "]"


def _range(lo: int, hi: int) -> str:
    return f"\\x{{{lo:x}}}" if lo == hi else f"\\x{{{lo:x}}}-\\x{{{hi:x}}}"


def _scan_bracket(pattern: str, start: int, work: _Translation) -> tuple[int, str] | None:
    """`ignore`'s scanBracket (git's wildmatch member loop); None: never terminated."""
    length = len(pattern)
    index = start + 1
    negated = False
    if index < length and pattern[index] in "!^":
        negated = True
        index += 1
    ranges: list[tuple[int, int]] = []
    prev = ""
    while True:
        if index >= length:
            return None
        char = pattern[index]
        if char == "\\":
            index += 1
            if index >= length:
                return None
            escaped = pattern[index]
            ranges.append((ord(escaped), ord(escaped)))
            prev = escaped
        elif char == "-" and prev and index + 1 < length and pattern[index + 1] != "]":
            index += 1
            to = pattern[index]
            if to == "\\":
                index += 1
                if index >= length:
                    return None
                to = pattern[index]
            if prev <= to:
                ranges.append((ord(prev), ord(to)))
            else:
                work.problems.append(
                    f"the range {prev}-{to} is reversed: it matches nothing more than {prev!r}"
                )
            prev = ""
        elif char == "[" and index + 1 < length and pattern[index + 1] == ":":
            name_start = index + 2
            end = name_start
            while end < length and pattern[end] != "]":
                end += 1
            if end == length:
                return None
            if end > name_start and pattern[end - 1] == ":":
                name = pattern[name_start : end - 1]
                if name not in _POSIX:
                    work.problems.append(f"[:{name}:] is not a character class")
                    return None
                ranges.extend(_POSIX[name])
                prev = ""
                index = end
            else:
                ranges.append((ord("["), ord("[")))
                prev = "["
                index = name_start - 2
        else:
            ranges.append((ord(char), ord(char)))
            prev = char
        index += 1
        if index < length and pattern[index] == "]":
            return index, _class_source(negated, ranges)


def _extract_brackets(pattern: str, work: _Translation) -> str:
    """Hold escapes and bracket expressions aside (ignore's extractBrackets)."""
    out: list[str] = []
    length = len(pattern)
    index = 0
    while index < length:
        char = pattern[index]
        if char == "\\":
            escaped = pattern[index + 1] if index + 1 < length else ""
            if escaped == "/" and index + 2 == length:
                out.append(work.hold(_NEVER))
                work.problems.append("an escaped final slash makes the pattern match nothing")
            elif escaped in ("*", "[", " "):
                out.append(pattern[index : index + 2])
            else:
                out.append(
                    work.hold(
                        "\\" + escaped
                        if escaped in _LITERAL_SPECIAL
                        else f"[{escaped}]"
                        if escaped in _RESERVED
                        else re2.escape(escaped)
                    )
                )
            index += 2
        elif char in _RESERVED:
            out.append(work.hold(re2.escape(char)))
            index += 1
        elif char == "[":
            scanned = _scan_bracket(pattern, index, work)
            if scanned is None:
                if not work.problems:
                    work.problems.append("an unterminated [ makes the pattern match nothing")
                out.append(work.hold(_NEVER))
                index = length
            else:
                end, source = scanned
                out.append(work.hold(source))
                index = end + 1
        else:
            out.append(char)
            index += 1
    return "".join(out)


def _two_globstars(match: re.Match[str]) -> str:
    index, source = match.start(), match.string
    if index + 6 < len(source):
        return "(?:\\/[^\\/]+)+" if source[index + 6 :] == "\\/" else "(?:\\/[^\\/]+)*"
    return "\\/" + _TRAILING_DOUBLESTAR


def _regex_prefix(pattern: str, work: _Translation) -> str:
    """ignore's makeRegexPrefix: the chain of REPLACERS, in its order."""
    if re.fullmatch(r"/\*{2,}", pattern):
        pattern = "**"
    source = _extract_brackets(pattern, work)
    # (\ ) → ' '
    source = re.sub(
        r"(\\+)( ?)",
        lambda m: (
            m.group(1)[: len(m.group(1)) - len(m.group(1)) % 2] + " " if m.group(2) else m.group(1)
        ),
        source,
    )
    # a run of three or more asterisks filling a segment is a globstar
    source = re.sub(r"(^|/)\*{3,}(?=/|$)", lambda m: m.group(1) + "**", source)
    # escape the regular expression's metacharacters
    source = re.sub(r"[\\$.|*+(){^]", lambda m: "\\" + m.group(0), source)
    # ? matches one character but a slash
    source = source.replace("?", "[^/]")
    # a leading slash anchors at the root
    source = re.sub(r"^/", "^", source)
    source = source.replace("/", "\\/")
    # a leading **/ matches in every folder
    source = re.sub(r"^\^*(?:\\\*\\\*\\/)+", "(?:^|\\\\/)", source)
    if source and source[0] not in "^(":
        source = ("^" if re.search(r"/(?!$)", pattern) else "(?:^|\\/)") + source
    source = re.sub(r"\\/\\\*\\\*(?=\\/|$)", _two_globstars, source)
    source = re.sub(r"(^|[^\\])(?:\\\*)+(?!$)", lambda m: m.group(1) + _WILDCARD, source)
    source = re.sub(
        r"(^|[^\\])((?:\\\\)*)\\\*$",
        lambda m: m.group(1) + _TRAILING_WILDCARD if not m.group(2) else m.group(0),
        source,
    )
    source = re.sub(r"\\\\\\(?=[$.|*+(){^])", lambda m: "\\", source)
    source = source.replace("\\\\", "\\")
    if source and source[-1] not in (_TRAILING_WILDCARD, _TRAILING_DOUBLESTAR):
        source += "$" if source[-1] == "/" else "(?=$|\\/$)"
    if work.held:
        source = re.sub(f"{_HOLD}(\\d+){_HOLD}", lambda m: work.held[int(m.group(1))], source)
    return source


def _for_re2(prefix: str) -> str | None:
    """ignore's `_make` (MODE_IGNORE), written for RE2; None: the pattern matches nothing."""
    if _NEVER in prefix:
        return None
    lookahead = "(?=$|\\/$)"
    prefix = re.sub(
        r"(^|\\/)?\ue000$",
        lambda m: (m.group(1) + "[^/]+" if m.group(1) else "[^/]*") + lookahead,
        prefix,
    )
    prefix = re.sub("\ue001$", "(?s:.)", prefix)
    # RE2 has no lookahead; `(?=$|/$)` only ever ends the expression, where it is `/?$`.
    if prefix.endswith(lookahead):
        prefix = prefix[: -len(lookahead)] + "\\/?$"
    return prefix


def _trim_end(body: str) -> str:
    """git trims trailing spaces, but not one escaped by an odd run of backslashes."""
    end = len(body)
    while end and body[end - 1] == " ":
        end -= 1
    if end == len(body):
        return body
    backslashes = 0
    while end - backslashes - 1 >= 0 and body[end - backslashes - 1] == "\\":
        backslashes += 1
    return body[: end - 1] + " " if backslashes % 2 else body[:end]


def _trailing_backslash(body: str) -> bool:
    count = len(body) - len(body.rstrip("\\"))
    return count % 2 == 1


@dataclass(frozen=True)
class Rule:
    line: int  # 0 for the defaults
    pattern: str
    negated: bool
    regex: str


def compile_rule(pattern: str, line: int = 0) -> tuple[Rule | None, list[str]]:
    """One line of a .forceignore: its rule (None for comments and blanks) and problems."""
    body = pattern
    if not body or body[0] == "#":
        return None, []
    negated = body[0] == "!"
    if negated:
        body = body[1:]
    if body and body[-1] == " ":
        body = _trim_end(body)
    if not body:
        return None, []
    if _trailing_backslash(body):
        return None, ["it ends with a lone backslash, so it is ignored"]
    if body.startswith("\\!"):
        body = "!" + body[2:]
    elif body.startswith("\\#"):
        body = "#" + body[2:]
    work = _Translation()
    regex = _for_re2(_regex_prefix(body, work))
    if regex is None:
        return None, work.problems or ["it can match nothing"]
    try:
        re2.compile(regex)
    except re2.error as error:  # pragma: no cover - the translation only emits valid syntax
        return None, [*work.problems, f"it cannot be compiled ({error})"]
    return Rule(line, pattern, negated, regex), work.problems


class ForceIgnore:
    """The patterns of a `.forceignore` file (after `defaults`), matched as `ignore` does."""

    SDR_DEFAULTS = SDR_DEFAULTS

    def __init__(
        self, text: str = "", *, defaults: tuple[str, ...] = (), case_sensitive: bool = False
    ) -> None:
        self.text = text
        self.defaults = defaults
        self.case_sensitive = case_sensitive
        self.rules: list[Rule] = []
        self.problems: list[str] = []
        text = text.removeprefix("\ufeff")
        if text.endswith("\r"):
            text = text[:-1]
        lines = [(0, line) for line in defaults]
        lines += [(number, line) for number, line in enumerate(re.split(r"\r?\n", text), 1)]
        for number, line in lines:
            rule, problems = compile_rule(line, number)
            if rule is not None:
                self.rules.append(rule)
            for problem in problems:
                self.problems.append(f".forceignore line {number}: “{line}”: {problem}.")
        self._set: re2.Set | None = None
        if self.rules:
            options = re2.Options()
            options.case_sensitive = case_sensitive
            options.dot_nl = False
            matcher = re2.Set.SearchSet(options)
            for rule in self.rules:
                matcher.Add(rule.regex)
            matcher.Compile()
            self._set = matcher
        self._cache: dict[str, bool] = {}

    def __bool__(self) -> bool:
        return bool(self.rules)

    def with_patterns(self, *patterns: str) -> ForceIgnore:
        """The same file with more patterns after it (sgd's destructive `recordTypes/`)."""
        return ForceIgnore(
            self.text + "\n" + "\n".join(patterns),
            defaults=self.defaults,
            case_sensitive=self.case_sensitive,
        )

    def ignores(self, path: str) -> bool:
        """Whether the file `path` (relative to the project root, "/"-separated) is ignored."""
        if self._set is None:
            return False
        path = path.strip("/")
        cut = path.rfind("/")
        if cut > 0 and self._folder(path[:cut]):
            return True
        return self._matches(path)

    def _matches(self, path: str) -> bool:
        """The last matching rule decides (ignore's RuleManager.test)."""
        assert self._set is not None
        found = self._set.Match(path)
        if not found:
            return False
        return not self.rules[max(found)].negated

    def _folder(self, folder: str) -> bool:
        """`folder/` or one of its parents is ignored (ignore's `_t`, cached per folder).

        Walked without recursion: a path can be thousands of folders deep."""
        cached = self._cache.get(folder)
        if cached is not None:
            return cached
        chain = [folder]
        result = False
        cut = folder.rfind("/")
        while cut > 0:
            parent = folder[:cut]
            known = self._cache.get(parent)
            if known is not None:
                result = known
                break
            chain.append(parent)
            cut = parent.rfind("/")
        for current in reversed(chain):
            result = result or self._matches(current + "/")
            self._cache[current] = result
        return result
