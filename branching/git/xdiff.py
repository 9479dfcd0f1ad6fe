"""A line-diff engine that reproduces git's xdiff byte for byte.

Why a port and not ``difflib``: a three-way merge is only "git's answer" if
the two underlying diffs (base→ours, base→theirs) split the lines exactly as
git does, otherwise conflict hunks start and end on different lines.  merge-ort
hard-codes the *histogram* algorithm (``merge_start()`` sets
``XDF_HISTOGRAM_DIFF``), which falls back to xdiff's Myers implementation
(with its cost heuristics and record pre-filtering) when a region has only
very frequent lines, and then runs ``xdl_change_compact()`` to slide change
groups.  Each of those steps is reproduced here from git 2.39
(``xdiff/xhistogram.c``, ``xdiffi.c``, ``xprepare.c``).  Lines are compared
for exact byte equality (merge-ort passes no whitespace flags) so they are
interned to small integers first.

A "change script" is a list of ``(i1, i2, chg1, chg2)`` tuples in file order,
like xdiff's ``xdchange_t`` list: ``chg1`` lines at index ``i1`` of the first
file are replaced by ``chg2`` lines at index ``i2`` of the second.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

Change = tuple[int, int, int, int]

_MAX_COST_MIN = 256
_HEUR_MIN_COST = 256
_LINE_MAX = (1 << 63) - 1
_SNAKE_CNT = 20
_K_HEUR = 4
_KPDIS_RUN = 4
_MAX_EQLIMIT = 1024
_SIMSCAN_WINDOW = 100
_HISTOGRAM_MAX_CHAIN = 64


def split_lines(data: bytes) -> list[bytes]:
    """Split like xdiff's records: each line keeps its ``\\n``; no other separator."""
    if not data:
        return []
    parts = data.split(b"\n")
    last = parts.pop()
    lines = [p + b"\n" for p in parts]
    if last:
        lines.append(last)
    return lines


def _bogosqrt(n: int) -> int:
    i = 1
    while n > 0:
        i <<= 1
        n >>= 2
    return i


def _intern(a: Sequence[bytes], b: Sequence[bytes]) -> tuple[list[int], list[int]]:
    table: dict[bytes, int] = {}
    get = table.setdefault
    ka = [get(line, len(table)) for line in a]
    kb = [get(line, len(table)) for line in b]
    return ka, kb


# --------------------------------------------------------------------------- Myers


def _clean_mmatch(dis: bytearray, i: int, s: int, e: int) -> bool:
    if i - s > _SIMSCAN_WINDOW:
        s = i - _SIMSCAN_WINDOW
    if e - i > _SIMSCAN_WINDOW:
        e = i + _SIMSCAN_WINDOW
    r = 1
    rdis0 = 0
    rpdis0 = 1
    while i - r >= s:
        d = dis[i - r]
        if not d:
            rdis0 += 1
        elif d == 2:
            rpdis0 += 1
        else:
            break
        r += 1
    if rdis0 == 0:
        return False
    r = 1
    rdis1 = 0
    rpdis1 = 1
    while i + r <= e:
        d = dis[i + r]
        if not d:
            rdis1 += 1
        elif d == 2:
            rpdis1 += 1
        else:
            break
        r += 1
    if rdis1 == 0:
        return False
    rdis1 += rdis0
    rpdis1 += rpdis0
    return rpdis1 * _KPDIS_RUN < rpdis1 + rdis1


def _myers(a: Sequence[int], b: Sequence[int]) -> tuple[bytearray, bytearray]:
    """``xdl_do_diff()`` with the classic algorithm: returns per-line change flags."""
    n1, n2 = len(a), len(b)
    rchg1 = bytearray(n1)
    rchg2 = bytearray(n2)
    # xdl_trim_ends
    lim = min(n1, n2)
    i = 0
    while i < lim and a[i] == b[i]:
        i += 1
    dstart = i
    lim -= i
    j = 0
    while j < lim and a[n1 - 1 - j] == b[n2 - 1 - j]:
        j += 1
    dend1 = n1 - j - 1
    dend2 = n2 - j - 1
    # xdl_cleanup_records
    in_b = Counter(b)
    in_a = Counter(a)
    mlim = min(_bogosqrt(n1), _MAX_EQLIMIT)
    dis1 = bytearray(n1 + 1)
    for i in range(dstart, dend1 + 1):
        nm = in_b.get(a[i], 0)
        dis1[i] = 0 if nm == 0 else (2 if nm >= mlim else 1)
    mlim = min(_bogosqrt(n2), _MAX_EQLIMIT)
    dis2 = bytearray(n2 + 1)
    for i in range(dstart, dend2 + 1):
        nm = in_a.get(b[i], 0)
        dis2[i] = 0 if nm == 0 else (2 if nm >= mlim else 1)
    rindex1: list[int] = []
    ha1: list[int] = []
    for i in range(dstart, dend1 + 1):
        d = dis1[i]
        if d == 1 or (d == 2 and not _clean_mmatch(dis1, i, dstart, dend1)):
            rindex1.append(i)
            ha1.append(a[i])
        else:
            rchg1[i] = 1
    rindex2: list[int] = []
    ha2: list[int] = []
    for i in range(dstart, dend2 + 1):
        d = dis2[i]
        if d == 1 or (d == 2 and not _clean_mmatch(dis2, i, dstart, dend2)):
            rindex2.append(i)
            ha2.append(b[i])
        else:
            rchg2[i] = 1
    _recs_cmp(ha1, rindex1, rchg1, ha2, rindex2, rchg2)
    return rchg1, rchg2


def _recs_cmp(
    ha1: list[int],
    rindex1: list[int],
    rchg1: bytearray,
    ha2: list[int],
    rindex2: list[int],
    rchg2: bytearray,
) -> None:
    nreff1, nreff2 = len(ha1), len(ha2)
    ndiags = nreff1 + nreff2 + 3
    kvdf = [0] * (ndiags + 1)
    kvdb = [0] * (ndiags + 1)
    koff = nreff2 + 1
    mxcost = max(_bogosqrt(ndiags), _MAX_COST_MIN)
    stack = [(0, nreff1, 0, nreff2, False)]
    while stack:
        off1, lim1, off2, lim2, need_min = stack.pop()
        while off1 < lim1 and off2 < lim2 and ha1[off1] == ha2[off2]:
            off1 += 1
            off2 += 1
        while off1 < lim1 and off2 < lim2 and ha1[lim1 - 1] == ha2[lim2 - 1]:
            lim1 -= 1
            lim2 -= 1
        if off1 == lim1:
            for k in range(off2, lim2):
                rchg2[rindex2[k]] = 1
        elif off2 == lim2:
            for k in range(off1, lim1):
                rchg1[rindex1[k]] = 1
        else:
            s1, s2, min_lo, min_hi = _split(
                ha1, off1, lim1, ha2, off2, lim2, kvdf, kvdb, koff, need_min, mxcost
            )
            # C recurses on the low box first; the order does not change the
            # result (the boxes are disjoint) but keep it anyway.
            stack.append((s1, lim1, s2, lim2, min_hi))
            stack.append((off1, s1, off2, s2, min_lo))


def _split(
    ha1: list[int],
    off1: int,
    lim1: int,
    ha2: list[int],
    off2: int,
    lim2: int,
    kvdf: list[int],
    kvdb: list[int],
    ko: int,
    need_min: bool,
    mxcost: int,
) -> tuple[int, int, bool, bool]:
    """``xdl_split()``: find the box split point, with xdiff's heuristics."""
    dmin = off1 - lim2
    dmax = lim1 - off2
    fmid = off1 - off2
    bmid = lim1 - lim2
    odd = (fmid - bmid) & 1
    fmin = fmax = fmid
    bmin = bmax = bmid
    kvdf[fmid + ko] = off1
    kvdb[bmid + ko] = lim1
    ec = 0
    while True:
        ec += 1
        got_snake = False
        if fmin > dmin:
            fmin -= 1
            kvdf[fmin - 1 + ko] = -1
        else:
            fmin += 1
        if fmax < dmax:
            fmax += 1
            kvdf[fmax + 1 + ko] = -1
        else:
            fmax -= 1
        for d in range(fmax, fmin - 1, -2):
            lo = kvdf[d - 1 + ko]
            hi = kvdf[d + 1 + ko]
            i1 = lo + 1 if lo >= hi else hi
            prev1 = i1
            i2 = i1 - d
            while i1 < lim1 and i2 < lim2 and ha1[i1] == ha2[i2]:
                i1 += 1
                i2 += 1
            if i1 - prev1 > _SNAKE_CNT:
                got_snake = True
            kvdf[d + ko] = i1
            if odd and bmin <= d <= bmax and kvdb[d + ko] <= i1:
                return i1, i2, True, True
        if bmin > dmin:
            bmin -= 1
            kvdb[bmin - 1 + ko] = _LINE_MAX
        else:
            bmin += 1
        if bmax < dmax:
            bmax += 1
            kvdb[bmax + 1 + ko] = _LINE_MAX
        else:
            bmax -= 1
        for d in range(bmax, bmin - 1, -2):
            lo = kvdb[d - 1 + ko]
            hi = kvdb[d + 1 + ko]
            i1 = lo if lo < hi else hi - 1
            prev1 = i1
            i2 = i1 - d
            while i1 > off1 and i2 > off2 and ha1[i1 - 1] == ha2[i2 - 1]:
                i1 -= 1
                i2 -= 1
            if prev1 - i1 > _SNAKE_CNT:
                got_snake = True
            kvdb[d + ko] = i1
            if not odd and fmin <= d <= fmax and i1 <= kvdf[d + ko]:
                return i1, i2, True, True
        if need_min:
            continue
        if got_snake and ec > _HEUR_MIN_COST:
            best = 0
            spl1 = spl2 = 0
            for d in range(fmax, fmin - 1, -2):
                dd = d - fmid if d > fmid else fmid - d
                i1 = kvdf[d + ko]
                i2 = i1 - d
                v = (i1 - off1) + (i2 - off2) - dd
                if (
                    v > _K_HEUR * ec
                    and v > best
                    and off1 + _SNAKE_CNT <= i1 < lim1
                    and off2 + _SNAKE_CNT <= i2 < lim2
                ):
                    k = 1
                    while ha1[i1 - k] == ha2[i2 - k]:
                        if k == _SNAKE_CNT:
                            best = v
                            spl1, spl2 = i1, i2
                            break
                        k += 1
            if best > 0:
                return spl1, spl2, True, False
            best = 0
            for d in range(bmax, bmin - 1, -2):
                dd = d - bmid if d > bmid else bmid - d
                i1 = kvdb[d + ko]
                i2 = i1 - d
                v = (lim1 - i1) + (lim2 - i2) - dd
                if (
                    v > _K_HEUR * ec
                    and v > best
                    and off1 < i1 <= lim1 - _SNAKE_CNT
                    and off2 < i2 <= lim2 - _SNAKE_CNT
                ):
                    k = 0
                    while ha1[i1 + k] == ha2[i2 + k]:
                        if k == _SNAKE_CNT - 1:
                            best = v
                            spl1, spl2 = i1, i2
                            break
                        k += 1
            if best > 0:
                return spl1, spl2, False, True
        if ec >= mxcost:
            fbest = fbest1 = -1
            for d in range(fmax, fmin - 1, -2):
                i1 = min(kvdf[d + ko], lim1)
                i2 = i1 - d
                if lim2 < i2:
                    i1 = lim2 + d
                    i2 = lim2
                if fbest < i1 + i2:
                    fbest = i1 + i2
                    fbest1 = i1
            bbest = bbest1 = _LINE_MAX
            for d in range(bmax, bmin - 1, -2):
                i1 = max(off1, kvdb[d + ko])
                i2 = i1 - d
                if i2 < off2:
                    i1 = off2 + d
                    i2 = off2
                if i1 + i2 < bbest:
                    bbest = i1 + i2
                    bbest1 = i1
            if (lim1 + lim2) - bbest < fbest - (off1 + off2):
                return fbest1, fbest - fbest1, True, False
            return bbest1, bbest - bbest1, False, True


# ------------------------------------------------------------------------ histogram


def _histogram(a: Sequence[int], b: Sequence[int], rchg1: bytearray, rchg2: bytearray) -> None:
    """``xdl_do_histogram_diff()`` over whole files (1-based line numbers as in C)."""
    work = [(1, len(a), 1, len(b))]
    while work:
        line1, count1, line2, count2 = work.pop()
        while True:
            if count1 <= 0 and count2 <= 0:
                break
            if not count1:
                for k in range(line2 - 1, line2 - 1 + count2):
                    rchg2[k] = 1
                break
            if not count2:
                for k in range(line1 - 1, line1 - 1 + count1):
                    rchg1[k] = 1
                break
            lcs = _find_lcs(a, b, line1, count1, line2, count2)
            if lcs is None:
                s1 = a[line1 - 1 : line1 - 1 + count1]
                s2 = b[line2 - 1 : line2 - 1 + count2]
                c1, c2 = _myers(s1, s2)
                rchg1[line1 - 1 : line1 - 1 + count1] = c1
                rchg2[line2 - 1 : line2 - 1 + count2] = c2
                break
            begin1, end1, begin2, end2 = lcs
            if begin1 == 0 and begin2 == 0:
                for k in range(line1 - 1, line1 - 1 + count1):
                    rchg1[k] = 1
                for k in range(line2 - 1, line2 - 1 + count2):
                    rchg2[k] = 1
                break
            # The C code recurses on the left part and loops on the right
            # part; both only touch their own line ranges.
            work.append((line1, begin1 - line1, line2, begin2 - line2))
            last1 = line1 + count1 - 1
            last2 = line2 + count2 - 1
            count1 = last1 - end1
            line1 = end1 + 1
            count2 = last2 - end2
            line2 = end2 + 1


def _find_lcs(
    a: Sequence[int], b: Sequence[int], line1: int, count1: int, line2: int, count2: int
) -> tuple[int, int, int, int] | None:
    """``find_lcs()``; returns None when git would fall back to Myers."""
    last1 = line1 + count1 - 1
    last2 = line2 + count2 - 1
    # scanA: record -> [first ptr, count]; next_ptrs chains equal lines.
    records: dict[int, list[int]] = {}
    next_ptrs = [0] * (count1 + 1)
    line_map: list[list[int]] = [[0, 0]] * (count1 + 1)
    for ptr in range(last1, line1 - 1, -1):
        key = a[ptr - 1]
        rec = records.get(key)
        if rec is not None:
            next_ptrs[ptr - line1] = rec[0]
            rec[0] = ptr
            rec[1] += 1
        else:
            rec = [ptr, 1]
            records[key] = rec
        line_map[ptr - line1] = rec
    cnt = _HISTOGRAM_MAX_CHAIN + 1
    has_common = False
    lb1 = le1 = lb2 = le2 = 0
    b_ptr = line2
    while b_ptr <= last2:
        b_next = b_ptr + 1
        rec = records.get(b[b_ptr - 1])
        if rec is None:
            b_ptr = b_next
            continue
        if rec[1] > cnt:
            has_common = True
            b_ptr = b_next
            continue
        has_common = True
        as_ = rec[0]
        while True:
            np = next_ptrs[as_ - line1]
            bs = b_ptr
            ae = as_
            be = bs
            rc = rec[1]
            while line1 < as_ and line2 < bs and a[as_ - 2] == b[bs - 2]:
                as_ -= 1
                bs -= 1
                if rc > 1:
                    rc = min(rc, line_map[as_ - line1][1])
            while ae < last1 and be < last2 and a[ae] == b[be]:
                ae += 1
                be += 1
                if rc > 1:
                    rc = min(rc, line_map[ae - line1][1])
            if b_next <= be:
                b_next = be + 1
            if le1 - lb1 < ae - as_ or rc < cnt:
                lb1, lb2, le1, le2 = as_, bs, ae, be
                cnt = rc
            if np == 0:
                break
            stop = False
            while np <= ae:
                np = next_ptrs[np - line1]
                if np == 0:
                    stop = True
                    break
            if stop:
                break
            as_ = np
        b_ptr = b_next
    if has_common and cnt > _HISTOGRAM_MAX_CHAIN:
        return None
    return lb1, le1, lb2, le2


# ----------------------------------------------------------------- compaction


def _change_compact(keys: Sequence[int], rchg: bytearray, other: bytearray) -> None:
    """``xdl_change_compact()`` without the indent heuristic (merges do not use it).

    ``rchg`` and ``other`` carry a zero sentinel at both ends: index ``i + 1``
    is line ``i``.
    """
    n = len(rchg) - 2
    no = len(other) - 2
    r = rchg
    ro = other
    gs = ge = 0
    while r[ge + 1]:
        ge += 1
    gos = goe = 0
    while ro[goe + 1]:
        goe += 1
    while True:
        if ge != gs:
            while True:
                groupsize = ge - gs
                end_matching_other = -1
                while gs > 0 and keys[gs - 1] == keys[ge - 1]:
                    gs -= 1
                    r[gs + 1] = 1
                    ge -= 1
                    r[ge + 1] = 0
                    while r[gs]:
                        gs -= 1
                    if gos == 0:
                        raise AssertionError("group sync broken sliding up")
                    goe = gos - 1
                    gos = goe
                    while ro[gos]:
                        gos -= 1
                earliest_end = ge
                if goe > gos:
                    end_matching_other = ge
                while ge < n and keys[gs] == keys[ge]:
                    r[gs + 1] = 0
                    gs += 1
                    r[ge + 1] = 1
                    ge += 1
                    while r[ge + 1]:
                        ge += 1
                    if goe == no:
                        raise AssertionError("group sync broken sliding down")
                    gos = goe + 1
                    goe = gos
                    while ro[goe + 1]:
                        goe += 1
                    if goe > gos:
                        end_matching_other = ge
                if groupsize == ge - gs:
                    break
            if ge != earliest_end and end_matching_other != -1:
                while goe == gos:
                    if not (gs > 0 and keys[gs - 1] == keys[ge - 1]):
                        raise AssertionError("match disappeared")
                    gs -= 1
                    r[gs + 1] = 1
                    ge -= 1
                    r[ge + 1] = 0
                    while r[gs]:
                        gs -= 1
                    goe = gos - 1
                    gos = goe
                    while ro[gos]:
                        gos -= 1
        if ge == n:
            break
        gs = ge + 1
        ge = gs
        while r[ge + 1]:
            ge += 1
        if goe == no:
            raise AssertionError("group sync broken moving to next group")
        gos = goe + 1
        goe = gos
        while ro[goe + 1]:
            goe += 1


def _build_script(rchg1: bytearray, rchg2: bytearray) -> list[Change]:
    """``xdl_build_script()`` on sentinel-padded flag arrays."""
    changes: list[Change] = []
    i1 = len(rchg1) - 2
    i2 = len(rchg2) - 2
    while i1 >= 0 or i2 >= 0:
        if rchg1[i1] or rchg2[i2]:
            l1 = i1
            while rchg1[i1]:
                i1 -= 1
            l2 = i2
            while rchg2[i2]:
                i2 -= 1
            changes.append((i1, i2, l1 - i1, l2 - i2))
        i1 -= 1
        i2 -= 1
    changes.reverse()
    return changes


def diff_keys(a: Sequence[int], b: Sequence[int], *, myers: bool = False) -> list[Change]:
    """Histogram diff (or, with `myers`, xdiff's classic algorithm, git's default outside
    merge-ort) + compaction of two interned line sequences."""
    if myers:
        c1, c2 = _myers(a, b)
    else:
        c1 = bytearray(len(a))
        c2 = bytearray(len(b))
        _histogram(a, b, c1, c2)
    r1 = bytearray(1) + c1 + bytearray(1)
    r2 = bytearray(1) + c2 + bytearray(1)
    _change_compact(a, r1, r2)
    _change_compact(b, r2, r1)
    return _build_script(r1, r2)


def diff_lines(a: Sequence[bytes], b: Sequence[bytes], *, myers: bool = False) -> list[Change]:
    """What git's merge machinery gets from ``xdl_do_diff`` + compaction + script."""
    ka, kb = _intern(a, b)
    return diff_keys(ka, kb, myers=myers)
