"""git rerere's conflict identity and replay, on bytes, from git 2.39's ``rerere.c``.

A conflict is identified by its conflict hunks, not by where it happened. `normalise` reads a
conflict-marked file as ``handle_path()`` / ``handle_conflict()`` do: for each hunk between
``<<<<<<<`` and ``>>>>>>>`` it keeps "ours" and "theirs" (a diff3 ``|||||||`` base section
is dropped), puts the smaller of the two first (``strbuf_cmp``, so which side was ours does
not matter), and writes the hunk back with bare markers (labels stripped); lines outside the
hunks are kept as they are. The conflict id is the SHA-1 over each hunk's two sides, each
followed by a NUL byte: the name git gives the conflict's ``rr-cache/<id>`` directory. Nested
conflict markers inside a side are normalised the same way and hashed as part of that side.

`replay` is ``try_merge()``: a three-way merge (``ll_merge()``: xdiff's classic diff, zealous
conflict refinement, no labels) of the recorded preimage as the base, this occurrence's
normalised file as ours and the recorded postimage (the resolution) as theirs. It succeeds
only without a conflict, so changes around the hunks since the resolution was recorded still
merge, and a resolution that no longer fits is not applied.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from branching.git.textmerge import DEFAULT_MARKER_SIZE, merge_text
from branching.git.xdiff import split_lines

_SPACE = b" \t\n\v\f\r"


@dataclass(frozen=True)
class Normalised:
    preimage: bytes  # the whole file, each conflict hunk normalised
    conflict_id: str  # hex SHA-1 over the normalised hunks
    hunks: int


class Unparsable(ValueError):
    """The conflict markers do not nest as git writes them (rerere gives up on the path)."""


def _is_marker(line: bytes, char: int, size: int) -> bool:
    """``is_cmarker()``: `size` marker characters, then whitespace (a space for < and >)."""
    if len(line) <= size or any(c != char for c in line[:size]):
        return False
    after = line[size]
    if char in b"<>" and after != 0x20:
        return False
    return after in _SPACE


def _conflict(lines: list[bytes], i: int, size: int, sha: object | None) -> tuple[bytes, int]:
    """``handle_conflict()`` from just after a ``<<<<<<<`` line: the normalised hunk and the
    index after its ``>>>>>>>`` line."""
    one: list[bytes] = []
    two: list[bytes] = []
    side = 1  # 1: ours, 2: theirs, 0: the diff3 base section (discarded)
    while i < len(lines):
        line = lines[i]
        i += 1
        if _is_marker(line, ord("<"), size):
            nested, i = _conflict(lines, i, size, None)
            (one if side == 1 else two).append(nested)
        elif _is_marker(line, ord("|"), size):
            if side != 1:
                raise Unparsable("a base section outside ours")
            side = 0
        elif _is_marker(line, ord("="), size):
            if side == 2:
                raise Unparsable("a second separator")
            side = 2
        elif _is_marker(line, ord(">"), size):
            if side != 2:
                raise Unparsable("an end marker before the separator")
            a, b = b"".join(one), b"".join(two)
            if a > b:
                a, b = b, a
            if sha is not None:
                sha.update(a + b"\0")  # type: ignore[attr-defined]
                sha.update(b + b"\0")  # type: ignore[attr-defined]
            marks = [bytes([c]) * size + b"\n" for c in b"<=>"]
            return marks[0] + a + marks[1] + b + marks[2], i
        elif side == 1:
            one.append(line)
        elif side == 2:
            two.append(line)
    raise Unparsable("a conflict that never ends")


def normalise(data: bytes, marker_size: int = DEFAULT_MARKER_SIZE) -> Normalised | None:
    """The normalised preimage and conflict id of a conflict-marked file, or None when it has
    no conflict hunk or its markers cannot be parsed (rerere leaves such a path alone)."""
    sha = hashlib.sha1()  # noqa: S324 - git's name for the conflict, not a security measure
    lines = split_lines(data)  # strbuf_getwholeline(): each line up to its "\n"
    out: list[bytes] = []
    hunks = 0
    i = 0
    try:
        while i < len(lines):
            line = lines[i]
            i += 1
            if _is_marker(line, ord("<"), marker_size):
                hunk, i = _conflict(lines, i, marker_size, sha)
                out.append(hunk)
                hunks += 1
            else:
                out.append(line)
    except Unparsable:
        return None
    if not hunks:
        return None
    return Normalised(b"".join(out), sha.hexdigest(), hunks)


def replay(preimage: bytes, thisimage: bytes, postimage: bytes) -> bytes | None:
    """The recorded resolution applied to this occurrence (its normalised file), or None
    when the three-way merge conflicts."""
    result = merge_text(preimage, thisimage, postimage, ours_label="", theirs_label="", myers=True)
    return None if result.conflicts else result.content
