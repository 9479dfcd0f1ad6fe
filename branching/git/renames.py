"""Rename detection as merge-ort runs it (``diffcore_rename_extended()``, git 2.39).

Why not "any decent similarity matcher": which deleted file pairs with which
added file decides whether an edit on the other branch follows a file or
becomes a modify/delete conflict, so every step that can change a pairing is
reproduced: exact renames first (source order, basename tie-break), then
basename-guided matching at a 75% threshold (helped by directory-rename
guesses), culling of sources merge-ort does not care about, and finally the
N×M matrix with git's 4-candidates-per-destination bookkeeping and its
spanhash similarity estimate (``diffcore-delta.c``).  Only added and deleted
files ever reach this module.
"""

from __future__ import annotations

from collections.abc import Callable
from stat import S_ISREG

from branching.git.strmap import git_iteration_order
from branching.git.textmerge import is_binary

MAX_SCORE = 60000
DEFAULT_RENAME_SCORE = 30000
RENAME_LIMIT = 7000
_NUM_CANDIDATES = 4
_MASK64 = (1 << 64) - 1
_HASHBASE = 107927
UNKNOWN_DIR = b"/"

# enum dir_rename_relevance
NOT_RELEVANT = 0
RELEVANT_FOR_ANCESTOR = 1
RELEVANT_FOR_SELF = 2
# enum file_rename_relevance
RELEVANT_NO_MORE = 0
RELEVANT_CONTENT = 1
RELEVANT_LOCATION = 2

EMPTY_BLOB = b"e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


class FileSpec:
    """One side of a file pair (``diff_filespec``); mode 0 means "absent"."""

    __slots__ = ("path", "mode", "oid", "rename_used")

    def __init__(self, path: bytes, mode: int = 0, oid: bytes | None = None) -> None:
        self.path = path
        self.mode = mode
        self.oid = oid
        self.rename_used = 0

    @property
    def valid(self) -> bool:
        return bool(self.mode)


class FilePair:
    """An add, a delete, or (after detection) a rename (``diff_filepair``)."""

    __slots__ = ("one", "two", "status", "score", "renamed")

    def __init__(self, one: FileSpec, two: FileSpec) -> None:
        self.one = one
        self.two = two
        self.status = ""
        self.score = 0
        self.renamed = False


BlobReader = Callable[[bytes], bytes]


class SpanHashCache:
    """Per-blob chunk counts for the similarity estimate, kept across merges."""

    def __init__(self, read_blob: BlobReader, limit: int = 4096) -> None:
        self._read = read_blob
        self._counts: dict[bytes, dict[int, int]] = {}
        self._sizes: dict[bytes, int] = {}
        self._chunk_hash: dict[bytes, int] = {}
        self._limit = limit
        # (source blob, destination blob) -> similarity: a long-lived branch merged again and
        # again compares the same few deleted files with the same thousands of added ones.
        self.scores: dict[tuple[bytes, bytes], int] = {}
        self._scores_limit = 50 * limit

    def size(self, oid: bytes) -> int:
        size = self._sizes.get(oid)
        if size is None:
            size = len(self._read(oid))
            if len(self._sizes) > 16 * self._limit:
                self._sizes.clear()
            self._sizes[oid] = size
        return size

    def remember_score(self, key: tuple[bytes, bytes], score: int) -> None:
        if len(self.scores) >= self._scores_limit:
            self.scores.clear()
        self.scores[key] = score

    def counts(self, oid: bytes) -> dict[int, int]:
        counts = self._counts.get(oid)
        if counts is None:
            counts = self._hash_chars(self._read(oid))
            if len(self._counts) >= self._limit:
                self._counts.clear()
            self._counts[oid] = counts
        return counts

    def _hash_chars(self, data: bytes) -> dict[int, int]:
        """``hash_chars()``: chunks end at LF or after 64 bytes; a tail without LF is dropped."""
        if not is_binary(data):
            data = data.replace(b"\r\n", b"\n")
        counts: dict[int, int] = {}
        memo = self._chunk_hash
        if len(memo) > 200_000:
            memo.clear()
        for line in data.split(b"\n")[:-1]:
            line += b"\n"
            for start in range(0, len(line), 64):
                chunk = line[start : start + 64]
                h = memo.get(chunk)
                if h is None:
                    h = _span_hash(chunk)
                    memo[chunk] = h
                counts[h] = counts.get(h, 0) + len(chunk)
        # A last line without LF still yields whole 64-byte chunks.
        tail = data[data.rfind(b"\n") + 1 :]
        for start in range(0, len(tail) - 63, 64):
            chunk = tail[start : start + 64]
            h = memo.get(chunk)
            if h is None:
                h = _span_hash(chunk)
                memo[chunk] = h
            counts[h] = counts.get(h, 0) + 64
        return counts


def _span_hash(chunk: bytes) -> int:
    """git's span hash of one chunk. Its two 32-bit accumulators, side by side, are one 64-bit
    value rotated left by 7 bits per byte, the byte added to the upper half (carry dropped):
    one rotation and one addition per byte in Python, not six operations."""
    x = 0
    for c in chunk:
        x = (((x << 7) | (x >> 57)) + (c << 32)) & _MASK64
    return (((x >> 32) + (x & 0xFFFFFFFF) * 0x61) & 0xFFFFFFFF) % _HASHBASE


def estimate_similarity(spans: SpanHashCache, src: FileSpec, dst: FileSpec, minimum: int) -> int:
    """``estimate_similarity()``: share of dst bytes copied from src, in 1/60000ths."""
    if not S_ISREG(src.mode) or not S_ISREG(dst.mode):
        return 0
    assert src.oid is not None and dst.oid is not None
    return _similarity(spans, src.oid, dst.oid, spans.size(dst.oid), minimum)


def _similarity(spans: SpanHashCache, soid: bytes, doid: bytes, dsize: int, minimum: int) -> int:
    """`estimate_similarity` of two regular files, the destination's size given."""
    ssize = spans.size(soid)
    max_size = max(ssize, dsize)
    delta = max_size - min(ssize, dsize)
    if max_size * (MAX_SCORE - minimum) < delta * MAX_SCORE:
        return 0
    key = (soid, doid)
    score = spans.scores.get(key)
    if score is not None:
        return score
    sc = spans.counts(soid)
    dc = spans.counts(doid)
    # Only the chunks both have count; finding them is a set operation at C speed.
    copied = sum(min(sc[h], dc[h]) for h in sc.keys() & dc.keys())
    score = int(copied * float(MAX_SCORE) / max_size) if dsize else 0
    spans.remember_score(key, score)
    return score


def _similarities(
    spans: SpanHashCache, sources: list[FileSpec], dst: FileSpec, minimum: int
) -> list[int]:
    """`estimate_similarity(spans, src, dst, minimum)` for each of `sources`, in order, with
    what depends only on `dst` done once."""
    if not S_ISREG(dst.mode):
        return [0] * len(sources)
    assert dst.oid is not None
    doid = dst.oid
    dsize = spans.size(doid)
    return [
        _similarity(spans, src.oid, doid, dsize, minimum)  # type: ignore[arg-type]
        if S_ISREG(src.mode)
        else 0
        for src in sources
    ]


def _basename(path: bytes) -> bytes:
    return path[path.rfind(b"/") + 1 :]


def dirname(path: bytes) -> bytes:
    i = path.rfind(b"/")
    return path[:i] if i >= 0 else b""


def _basename_same(src: bytes, dst: bytes) -> int:
    return 1 if _basename(src) == _basename(dst) else 0


class _DirRenameInfo:
    def __init__(self) -> None:
        self.setup = False
        self.idx_map: dict[bytes, int] = {}
        self.guess: dict[bytes, bytes] = {}
        self.count: dict[bytes, dict[bytes, int]] = {}
        self.relevant_source_dirs: dict[bytes, int] | None = None

    def increment(self, old_dir: bytes, new_dir: bytes) -> None:
        counts = self.count.setdefault(old_dir, {})
        counts[new_dir] = counts.get(new_dir, 0) + 1


def _update_dir_rename_counts(
    info: _DirRenameInfo, dirs_removed: dict[bytes, int], oldname: bytes, newname: bytes
) -> None:
    if not info.setup:
        return
    old_dir = oldname
    new_dir = newname
    first = True
    while True:
        prev_old, prev_new = old_dir, new_dir
        old_dir = dirname(old_dir)
        rsd = info.relevant_source_dirs
        if rsd is not None and old_dir not in rsd:
            break
        new_dir = dirname(new_dir)
        if not first and _basename(prev_old) != _basename(prev_new):
            break
        drd_flag = dirs_removed.get(old_dir, NOT_RELEVANT)
        if drd_flag == RELEVANT_FOR_SELF or first:
            info.increment(old_dir, new_dir)
        first = False
        if drd_flag == NOT_RELEVANT:
            break
        if not old_dir or not new_dir:
            break


def detect_renames(
    pairs: list[FilePair],
    spans: SpanHashCache,
    relevant_sources: dict[bytes, int],
    dirs_removed: dict[bytes, int],
    dir_rename_count: dict[bytes, dict[bytes, int]],
    cached_pairs: dict[bytes, bytes | None] | None = None,
) -> tuple[list[FilePair], bool]:
    """Pair deletions with additions in place of ``diffcore_rename_extended()``.

    ``relevant_sources`` and ``dirs_removed`` are updated as git updates them;
    ``dir_rename_count`` receives the per-directory rename tallies (renames
    remembered in ``cached_pairs`` count too).  Returns the new queue —
    renames replace their add, used deletions disappear — and whether the
    rename limit stopped inexact detection.
    """
    minimum = DEFAULT_RENAME_SCORE
    dsts: list[FilePair] = []
    dst_is_rename: list[bool] = []
    srcs: list[FilePair] = []
    for p in pairs:
        if not p.one.valid:
            if p.two.valid and p.two.oid != EMPTY_BLOB:
                dsts.append(p)
                dst_is_rename.append(False)
        elif p.one.oid == EMPTY_BLOB:
            continue
        elif not p.two.valid:
            srcs.append(p)
    if not dsts or not srcs:
        return _write_back(pairs), False

    def record(di: int, src: FilePair, score: int) -> None:
        dst = dsts[di]
        src.one.rename_used += 1
        dst_is_rename[di] = True
        dst.one = src.one
        dst.renamed = True
        dst.score = score

    # --- exact renames: sources in index order per blob id
    by_oid: dict[tuple[bytes | None, bool], list[FilePair]] = {}
    for s in srcs:
        by_oid.setdefault((s.one.oid, True), []).append(s)
    rename_count = 0
    for di, d in enumerate(dsts):
        cands = by_oid.get((d.two.oid, True))
        if not cands:
            continue
        best = None
        best_score = -1
        budget = 100
        for s in cands:
            src = s.one
            if (not S_ISREG(src.mode) or not S_ISREG(d.two.mode)) and src.mode != d.two.mode:
                continue
            if src.rename_used:
                continue
            score = 1 + _basename_same(src.path, d.two.path)
            if score > best_score:
                best = s
                best_score = score
                if score == 2:
                    break
            budget -= 1
            if not budget:
                break
        if best is not None:
            record(di, best, MAX_SCORE)
            rename_count += 1

    # --- cull sources used by exact renames
    srcs = [s for s in srcs if not s.one.rename_used]

    # --- directory rename info + basename matching
    info = _DirRenameInfo()
    info.setup = True
    info.count = dir_rename_count
    info.relevant_source_dirs = dirs_removed
    for di, d in enumerate(dsts):
        if not dst_is_rename[di]:
            info.idx_map[d.two.path] = di
        else:
            _update_dir_rename_counts(info, dirs_removed, d.one.path, d.two.path)
    if cached_pairs:
        for old_name in git_iteration_order(cached_pairs):
            new_name = cached_pairs[old_name]
            if new_name is not None:
                _update_dir_rename_counts(info, dirs_removed, old_name, new_name)
    for old_dir, counts in info.count.items():
        best_dir = None
        highest = 0
        # ties go to the first entry of git's hash-map walk
        for new_dir in git_iteration_order(counts):
            n = counts[new_dir]
            if n > highest:
                highest = n
                best_dir = new_dir
        if best_dir is not None:
            info.guess[old_dir] = best_dir

    min_basename_score = minimum + int(0.5 * (MAX_SCORE - minimum))
    src_base: dict[bytes, int] = {}
    for i, s in enumerate(srcs):
        base = _basename(s.one.path)
        src_base[base] = -1 if base in src_base else i
    dst_base: dict[bytes, int] = {}
    for di, d in enumerate(dsts):
        if dst_is_rename[di]:
            continue
        base = _basename(d.two.path)
        dst_base[base] = -1 if base in dst_base else di
    for i, s in enumerate(srcs):
        filename = s.one.path
        if filename not in relevant_sources:
            continue
        base = _basename(filename)
        src_index = src_base.get(base, -1)
        if base not in dst_base:
            continue
        dst_index = dst_base[base]
        if src_index == -1 or dst_index == -1:
            src_index = i
            guessed = info.guess.get(dirname(filename))
            if guessed is None:
                continue
            dst_index = info.idx_map.get(guessed + b"/" + base, -1)
        if dst_index == -1 or dst_is_rename[dst_index]:
            continue
        one = srcs[src_index].one
        two = dsts[dst_index].two
        score = estimate_similarity(spans, one, two, min_basename_score)
        if score < min_basename_score:
            continue
        record(dst_index, srcs[src_index], score)
        rename_count += 1
        _update_dir_rename_counts(info, dirs_removed, one.path, two.path)

    # --- cull: used, irrelevant, and location-only sources no longer needed
    srcs = [s for s in srcs if not s.one.rename_used and s.one.path in relevant_sources]
    srcs = _handle_early_known_dir_renames(info, srcs, relevant_sources, dirs_removed)

    num_dst = len(dsts) - rename_count
    limited = bool(num_dst and srcs and num_dst * len(srcs) > RENAME_LIMIT * RENAME_LIMIT)
    if num_dst and srcs and not limited:
        _inexact(spans, dsts, dst_is_rename, srcs, minimum, record, info, dirs_removed)

    # cleanup_dir_rename_info(keep_dir_rename_count=1)
    for src_dir in list(dir_rename_count):
        if not dirs_removed.get(src_dir, NOT_RELEVANT):
            del dir_rename_count[src_dir]
        else:
            dir_rename_count[src_dir].pop(UNKNOWN_DIR, None)
    return _write_back(pairs), limited


def _handle_early_known_dir_renames(
    info: _DirRenameInfo,
    srcs: list[FilePair],
    relevant_sources: dict[bytes, int],
    dirs_removed: dict[bytes, int],
) -> list[FilePair]:
    for s in srcs:
        old_dir = dirname(s.one.path)
        while old_dir and dirs_removed.get(old_dir, NOT_RELEVANT) != NOT_RELEVANT:
            info.increment(old_dir, UNKNOWN_DIR)
            old_dir = dirname(old_dir)
    for src_dir, counts in info.count.items():
        if dirs_removed.get(src_dir) == RELEVANT_FOR_SELF and _determinable(counts):
            dirs_removed[src_dir] = RELEVANT_FOR_ANCESTOR
    kept = []
    for s in srcs:
        if relevant_sources.get(s.one.path) == RELEVANT_LOCATION:
            removable = True
            d = dirname(s.one.path)
            while True:
                res = dirs_removed.get(d, NOT_RELEVANT)
                if res == NOT_RELEVANT:
                    break
                if res == RELEVANT_FOR_SELF:
                    removable = False
                    break
                d = dirname(d)
            if removable:
                relevant_sources[s.one.path] = RELEVANT_NO_MORE
                continue
        kept.append(s)
    return kept


def _determinable(counts: dict[bytes, int]) -> bool:
    first = second = unknown = 0
    for new_dir, n in counts.items():
        if new_dir == UNKNOWN_DIR:
            unknown = n
        elif n >= first:
            second = first
            first = n
        elif n >= second:
            second = n
    return first > second + unknown


def _inexact(
    spans: SpanHashCache,
    dsts: list[FilePair],
    dst_is_rename: list[bool],
    srcs: list[FilePair],
    minimum: int,
    record: Callable[[int, FilePair, int], None],
    info: _DirRenameInfo,
    dirs_removed: dict[bytes, int],
) -> None:
    """The similarity matrix, keeping git's 4 best candidates per destination.

    A destination whose best score is under `minimum` can have none of its candidates recorded
    (they sort after every one at `minimum` or above, and the walk below stops at the first
    under it), so its candidates are not kept; for the others git's replacement of the worst
    of 4 slots is replayed exactly (ties between equal scores go by slot).
    """
    # candidate = (score, name_score, dst, src); dst == -1 means unused slot
    matrix: list[tuple[int, int, int, int]] = []
    sources = [s.one for s in srcs]
    source_names = [_basename(one.path) for one in sources]
    for di, d in enumerate(dsts):
        if dst_is_rename[di]:
            continue
        two = d.two
        scores = _similarities(spans, sources, two, minimum)
        if not scores or max(scores) < minimum:
            continue
        name = _basename(two.path)
        m: list[tuple[int, int, int, int]] = [(0, 0, -1, -1)] * _NUM_CANDIDATES
        worst = 0
        for si, score in enumerate(scores):
            cand = (score, 1 if source_names[si] == name else 0, di, si)
            if _score_cmp(m[worst], cand) > 0:
                m[worst] = cand
                worst = 0
                for k in range(1, _NUM_CANDIDATES):
                    if _score_cmp(m[k], m[worst]) > 0:
                        worst = k
        matrix.extend(m)
    # STABLE_QSORT(score_compare): valid first, then score desc, name_score desc
    matrix.sort(key=lambda c: (c[2] < 0, -c[0], -c[1]))
    for score, _name, di, si in matrix:
        if di < 0 or score < minimum:
            break
        if dst_is_rename[di]:
            continue
        src = srcs[si]
        if src.one.rename_used:
            continue
        record(di, src, score)
        _update_dir_rename_counts(info, dirs_removed, src.one.path, dsts[di].two.path)


def _score_cmp(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> int:
    if a[2] < 0:
        return 1 if b[2] >= 0 else 0
    if b[2] < 0:
        return -1
    if a[0] == b[0]:
        return b[1] - a[1]
    return b[0] - a[0]


def _write_back(pairs: list[FilePair]) -> list[FilePair]:
    out = []
    for p in pairs:
        if not p.one.valid and p.two.valid:
            out.append(p)
        elif p.one.valid and not p.two.valid:
            if not p.one.rename_used:
                out.append(p)
        else:
            out.append(p)
    return out


def resolve_statuses(pairs: list[FilePair]) -> None:
    """merge-ort's ``resolve_diffpair_statuses()``."""
    for p in pairs:
        if not p.one.valid:
            p.status = "A"
        elif not p.two.valid:
            p.status = "D"
        elif p.renamed:
            p.status = "R"
        else:
            p.status = ""
