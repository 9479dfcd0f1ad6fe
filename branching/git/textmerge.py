"""Three-way text merge that writes git's conflict hunks byte for byte.

This is ``ll_merge()`` → ``ll_xdl_merge()`` → ``xdl_merge()`` from git 2.39 as
merge-ort calls it: histogram diffs, ``XDL_MERGE_ZEALOUS`` (conflicts are
refined by diffing the two sides against each other, and conflicts less than
four lines apart are coalesced), the default "merge" conflict style and no
favouring.  Binary input (a NUL in the first 8000 bytes of any side) is never
line-merged: like ``ll_binary_merge()`` the result is "ours" with a conflict,
or the base for the virtual merge base of a recursive merge.
"""

from __future__ import annotations

from dataclasses import dataclass

from branching.git.xdiff import Change, diff_lines, split_lines

DEFAULT_MARKER_SIZE = 7
_FIRST_FEW_BYTES = 8000


def is_binary(data: bytes) -> bool:
    """git's ``buffer_is_binary()``: a NUL byte among the first 8000 bytes."""
    return b"\0" in data[:_FIRST_FEW_BYTES]


@dataclass(frozen=True)
class TextMergeResult:
    """Outcome of one content merge."""

    content: bytes
    conflicts: int  # number of conflict hunks, 0 when clean
    binary: bool = False


class _Hunk:
    """``xdmerge_t``: one region touched by at least one side."""

    __slots__ = ("mode", "i0", "chg0", "i1", "chg1", "i2", "chg2")

    def __init__(self, mode: int, i0: int, chg0: int, i1: int, chg1: int, i2: int, chg2: int):
        self.mode = mode
        self.i0 = i0
        self.chg0 = chg0
        self.i1 = i1
        self.chg1 = chg1
        self.i2 = i2
        self.chg2 = chg2


def _append(
    hunks: list[_Hunk], mode: int, i0: int, chg0: int, i1: int, chg1: int, i2: int, chg2: int
) -> None:
    if hunks:
        m = hunks[-1]
        if i1 <= m.i1 + m.chg1 or i2 <= m.i2 + m.chg2:
            if mode != m.mode:
                m.mode = 0
            m.chg0 = i0 + chg0 - m.i0
            m.chg1 = i1 + chg1 - m.i1
            m.chg2 = i2 + chg2 - m.i2
            return
    hunks.append(_Hunk(mode, i0, chg0, i1, chg1, i2, chg2))


def _is_eol_crlf(lines: list[bytes], i: int) -> int:
    n = len(lines)
    if i < n - 1:
        rec = lines[i]
        return 1 if len(rec) > 1 and rec[-2] == 13 else 0
    if not n:
        return -1
    rec = lines[i]
    if rec and rec[-1] == 10:
        return 1 if len(rec) > 1 and rec[-2] == 13 else 0
    if not i:
        return -1
    rec = lines[i - 1]
    return 1 if len(rec) > 1 and rec[-2] == 13 else 0


def _cr_needed(base: list[bytes], ours: list[bytes], theirs: list[bytes], m: _Hunk) -> bool:
    needs = _is_eol_crlf(ours, m.i1 - 1 if m.i1 else 0)
    if needs:
        needs = _is_eol_crlf(theirs, m.i2 - 1 if m.i2 else 0)
    if needs:
        needs = _is_eol_crlf(base, 0)
    return needs > 0


def _copy(out: list[bytes], lines: list[bytes], i: int, count: int, needs_cr: bool, add_nl: bool):
    if count < 1:
        return
    out.extend(lines[i : i + count])
    if add_nl:
        last = lines[i + count - 1]
        if not last or last[-1] != 10:
            out.append(b"\r\n" if needs_cr else b"\n")


def _refine_conflicts(
    ours: list[bytes], theirs: list[bytes], hunks: list[_Hunk], myers: bool = False
) -> list[_Hunk]:
    """``xdl_refine_conflicts()``: shrink each conflict to where the sides differ."""
    out: list[_Hunk] = []
    for m in hunks:
        if m.mode or m.chg1 == 0 or m.chg2 == 0:
            out.append(m)
            continue
        i1, i2 = m.i1, m.i2
        script = diff_lines(ours[i1 : i1 + m.chg1], theirs[i2 : i2 + m.chg2], myers=myers)
        if not script:
            m.mode = 4
            out.append(m)
            continue
        first = True
        for x1, x2, c1, c2 in script:
            if first:
                m.i1, m.chg1, m.i2, m.chg2 = x1 + i1, c1, x2 + i2, c2
                out.append(m)
                first = False
            else:
                out.append(_Hunk(0, m.i0, m.chg0, x1 + i1, c1, x2 + i2, c2))
    return out


def _simplify_non_conflicts(hunks: list[_Hunk]) -> list[_Hunk]:
    """``xdl_simplify_non_conflicts()`` at ZEALOUS level: join conflicts ≤3 lines apart."""
    if not hunks:
        return hunks
    out = [hunks[0]]
    for nxt in hunks[1:]:
        m = out[-1]
        begin = m.i1 + m.chg1
        end = nxt.i1
        if m.mode != 0 or nxt.mode != 0 or end - begin > 3:
            out.append(nxt)
        else:
            m.chg1 = nxt.i1 + nxt.chg1 - m.i1
            m.chg2 = nxt.i2 + nxt.chg2 - m.i2
    return out


def _do_merge(
    base: list[bytes],
    ours: list[bytes],
    theirs: list[bytes],
    xscr1: list[Change],
    xscr2: list[Change],
    name1: str | bytes,
    name2: str | bytes,
    marker_size: int,
    myers: bool = False,
) -> TextMergeResult:
    hunks: list[_Hunk] = []
    a = 0
    b = 0
    n1, n2 = len(xscr1), len(xscr2)
    while a < n1 and b < n2:
        s1 = xscr1[a]
        s2 = xscr2[b]
        if s1[0] + s1[2] < s2[0]:
            _append(hunks, 1, s1[0], s1[2], s1[1], s1[3], s2[1] - s2[0] + s1[0], s1[2])
            a += 1
            continue
        if s2[0] + s2[2] < s1[0]:
            _append(hunks, 2, s2[0], s2[2], s1[1] - s1[0] + s2[0], s2[2], s2[1], s2[3])
            b += 1
            continue
        if (
            s1[0] != s2[0]
            or s1[2] != s2[2]
            or s1[3] != s2[3]
            or ours[s1[1] : s1[1] + s1[3]] != theirs[s2[1] : s2[1] + s1[3]]
        ):
            off = s1[0] - s2[0]
            ffo = off + s1[2] - s2[2]
            i0 = s1[0]
            i1 = s1[1]
            i2 = s2[1]
            if off > 0:
                i0 -= off
                i1 -= off
            else:
                i2 += off
            chg0 = s1[0] + s1[2] - i0
            chg1 = s1[1] + s1[3] - i1
            chg2 = s2[1] + s2[3] - i2
            if ffo < 0:
                chg0 -= ffo
                chg1 -= ffo
            else:
                chg2 += ffo
            _append(hunks, 0, i0, chg0, i1, chg1, i2, chg2)
        e1 = s1[0] + s1[2]
        e2 = s2[0] + s2[2]
        if e1 >= e2:
            b += 1
        if e2 >= e1:
            a += 1
    while a < n1:
        s1 = xscr1[a]
        _append(hunks, 1, s1[0], s1[2], s1[1], s1[3], s1[0] + len(theirs) - len(base), s1[2])
        a += 1
    while b < n2:
        s2 = xscr2[b]
        _append(hunks, 2, s2[0], s2[2], s2[0] + len(ours) - len(base), s2[2], s2[1], s2[3])
        b += 1

    hunks = _simplify_non_conflicts(_refine_conflicts(ours, theirs, hunks, myers))

    lab1 = name1.encode("utf-8", "surrogateescape") if isinstance(name1, str) else name1
    lab2 = name2.encode("utf-8", "surrogateescape") if isinstance(name2, str) else name2
    out: list[bytes] = []
    i = 0
    conflicts = 0
    for m in hunks:
        if m.mode == 0:
            conflicts += 1
            cr = _cr_needed(base, ours, theirs, m)
            eol = b"\r\n" if cr else b"\n"
            _copy(out, ours, i, m.i1 - i, False, False)
            out.append(b"<" * marker_size + (b" " + lab1 if lab1 else b"") + eol)
            _copy(out, ours, m.i1, m.chg1, cr, True)
            out.append(b"=" * marker_size + eol)
            _copy(out, theirs, m.i2, m.chg2, cr, True)
            out.append(b">" * marker_size + (b" " + lab2 if lab2 else b"") + eol)
        elif m.mode & 3:
            _copy(out, ours, i, m.i1 - i, False, False)
            if m.mode & 1:
                cr = _cr_needed(base, ours, theirs, m)
                _copy(out, ours, m.i1, m.chg1, cr, bool(m.mode & 2))
            if m.mode & 2:
                _copy(out, theirs, m.i2, m.chg2, False, False)
        else:
            continue
        i = m.i1 + m.chg1
    _copy(out, ours, i, len(ours) - i, False, False)
    return TextMergeResult(b"".join(out), conflicts)


def merge_text(
    base: bytes,
    ours: bytes,
    theirs: bytes,
    *,
    ours_label: str | bytes = "ours",
    theirs_label: str | bytes = "theirs",
    marker_size: int = DEFAULT_MARKER_SIZE,
    virtual_ancestor: bool = False,
    myers: bool = False,
) -> TextMergeResult:
    """Merge three blobs exactly as git's built-in "text" merge driver does.

    ``virtual_ancestor`` is set while building the virtual merge base of a
    criss-cross merge; git then resolves binary files to the base content
    without reporting a conflict.  ``myers`` diffs with xdiff's classic
    algorithm, as ``ll_merge()`` does when no diff options are given (rerere's
    replay); merge-ort itself diffs with histogram.
    """
    if is_binary(base) or is_binary(ours) or is_binary(theirs):
        if virtual_ancestor:
            return TextMergeResult(base, 0, binary=True)
        return TextMergeResult(ours, 1, binary=True)
    base_lines = split_lines(base)
    ours_lines = split_lines(ours)
    theirs_lines = split_lines(theirs)
    xscr1 = diff_lines(base_lines, ours_lines, myers=myers)
    if not xscr1:
        return TextMergeResult(theirs, 0)
    xscr2 = diff_lines(base_lines, theirs_lines, myers=myers)
    if not xscr2:
        return TextMergeResult(ours, 0)
    return _do_merge(
        base_lines,
        ours_lines,
        theirs_lines,
        xscr1,
        xscr2,
        ours_label,
        theirs_label,
        marker_size,
        myers,
    )
