"""One non-recursive tree merge, ported from git 2.39's ``merge-ort.c``.

Why a port: "the same tree id as git" leaves no room for a different design —
where a renamed file ends up, which side's content a binary conflict keeps,
how a file is moved aside for a directory, all of it is observable.  The
structure therefore follows merge-ort function by function
(``collect_merge_info`` → ``detect_and_process_renames`` →
``process_entries``), including its optimisations that change results
(deferred "trivial" directory merges and rename-source relevance decide which
files are rename candidates at all).

The "redo after renames" restart, the caches it relies on and git's
hash-map walk order where it matters are reproduced too, as are git's quirks
(a mode-0 null entry written after a directory-rename edge case) and the
assertions at which git aborts (:class:`MergeAbortedError`).

One departure, result-neutral: entries whose result git knows on sight (the
same on all three sides, or a file one side left as it was) stay in bulk per
directory (:class:`_Bulk`) instead of one record per path — they never take
part in renames — and big directories are written by splicing the raw tree of
the side that changed them more.  Submodule merging and
attribute-driven merge drivers are not implemented (see the merge module).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass

from branching.git.objects import (
    S_IFDIR,
    S_IFGITLINK,
    S_IFLNK,
    S_IFMT,
    S_IFREG,
    Entry,
    ObjectCache,
    TreeData,
    parse_records,
    records_by_name,
)
from branching.git.renames import (
    NOT_RELEVANT,
    RELEVANT_CONTENT,
    RELEVANT_FOR_ANCESTOR,
    RELEVANT_FOR_SELF,
    RELEVANT_LOCATION,
    RELEVANT_NO_MORE,
    FilePair,
    FileSpec,
    SpanHashCache,
    detect_renames,
    resolve_statuses,
)
from branching.git.strmap import git_iteration_order
from branching.git.textmerge import merge_text

Version = tuple[int, bytes | None]  # (mode, hex id); (0, None) is "absent"
_NULL: Version = (0, None)
_NULL_OID = b"0" * 40
# Up to this many changed entries in a directory (both sides together), each is looked at;
# beyond it, the directory is spliced from the side that changed it more (`OrtMerge._traverse`).
_FEW_CHANGES = 64


def _isreg(mode: int) -> bool:
    return mode & S_IFMT == S_IFREG


class Info:
    """``merged_info`` / ``conflict_info`` in one record (``clean`` tells which)."""

    __slots__ = (
        "clean",
        "is_null",
        "result",
        "dirname",
        "stages",
        "pathnames",
        "df_conflict",
        "path_conflict",
        "filemask",
        "dirmask",
        "match_mask",
    )

    def __init__(self, dirname: bytes) -> None:
        self.clean = False
        self.is_null = False
        self.result: Version = _NULL
        self.dirname = dirname
        self.stages: list[Version] = [_NULL, _NULL, _NULL]
        self.pathnames: list[bytes] = [b"", b"", b""]
        self.df_conflict = False
        self.path_conflict = False
        self.filemask = 0
        self.dirmask = 0
        self.match_mask = 0

    def copy(self) -> Info:
        new = Info(self.dirname)
        for slot in Info.__slots__:
            value = getattr(self, slot)
            setattr(new, slot, list(value) if isinstance(value, list) else value)
        return new


class MergeAbortedError(RuntimeError):
    """git itself aborts this merge (an internal assertion in merge-ort fails).

    Raised where git 2.39's ``VERIFY_CI()`` checks would fire, so callers see
    a failure exactly where ``git merge-tree`` dies instead of a made-up tree.
    """


def _git_assert(condition: bool, what: str) -> None:
    """An ``assert()`` of merge-ort.c: git (built with assertions) dies there."""
    if not condition:
        raise MergeAbortedError(f"git merge-ort aborts here: assertion `{what}` fails")


def _verify_ci(info: Info | None, where: str) -> Info:
    if info is None or info.clean:
        raise MergeAbortedError(f"git merge-ort aborts here ({where}: VERIFY_CI failed)")
    return info


@dataclass(frozen=True)
class LogicalConflict:
    """A conflict message as merge-ort records it: a kind and the paths involved."""

    kind: str
    paths: tuple[bytes, ...]


@dataclass
class OrtOutcome:
    tree: bytes
    clean: bool
    conflicted: dict[bytes, Info]
    messages: list[LogicalConflict]


def _basename(path: bytes) -> bytes:
    return path[path.rfind(b"/") + 1 :]


def _parent(path: bytes) -> bytes:
    i = path.rfind(b"/")
    return path[:i] if i >= 0 else b""


class _Bulk:
    """A directory's entries that come out as they are in ``tree`` (the side spliced from):
    the same on all three sides, or files the other side left as they were.

    They are the entries of ``tree`` minus ``removed``; ``count`` of them.
    """

    __slots__ = ("tree", "removed", "count", "resolved", "_names", "_resolved_names")

    def __init__(self, tree: TreeData, removed: list[Entry], count: int) -> None:
        self.tree = tree
        self.removed = removed
        self.count = count
        # Files present on all three sides and changed on one side only (or the same way on
        # both): their result is known without an Info each (see `OrtMerge._traverse`).
        self.resolved: list[Entry] = []
        self._names: set[bytes] | None = None
        self._resolved_names: set[bytes] | None = None

    def contains(self, name: bytes) -> bool:
        if self.resolved:
            if self._resolved_names is None:
                self._resolved_names = {e[0] for e in self.resolved}
            if name in self._resolved_names:
                return True
        if not self.count:
            return False
        if self._names is None:
            self._names = {e[0] for e in self.removed}
        return name in self.tree.as_dict() and name not in self._names


def _is_dir(v: tuple[int, bytes] | None) -> bool:
    return v is not None and v[0] & S_IFMT == S_IFDIR


def _side(records: Iterable[bytes]) -> dict[bytes, tuple[int, bytes]]:
    """Name -> (mode, hex id) of these records of one tree."""
    return {n: (m, o) for n, m, o in parse_records(records)}


def _first_not_in(tree: TreeData, names: set[bytes]) -> Entry:
    """The first entry of ``tree`` whose name is not among ``names`` (there is one)."""
    for index, record in enumerate(tree.records()):
        if record[record.index(b" ") + 1 : -21] not in names:
            return tree.record(index)
    raise AssertionError("every entry is among the names")


def _walk_order(
    names: set[bytes], sides: tuple[dict[bytes, tuple[int, bytes]], ...]
) -> list[bytes]:
    """The order in which ``traverse_trees()`` visits ``names``.

    Each tree is read in tree order (a directory sorts as "name/"); at every
    step git takes the smallest plain name among the trees' current entries
    and pulls a same-named directory from further down the other trees.
    That is byte order unless some name extends a directory's name with a
    byte below "/" (``Foo.resource-meta.xml`` beside the folder ``Foo``):
    only then do tree order and byte order differ, and the trees are merged
    entry by entry. (``names`` are the names of the sides' entries.)
    """
    dirs = [n for side in sides for n, v in side.items() if v[0] & S_IFMT == S_IFDIR]
    by_name = sorted(names)
    if not dirs:
        return by_name
    for name in dirs:
        after = bisect_right(by_name, name)
        if after < len(by_name):
            next_name = by_name[after]
            if next_name.startswith(name) and next_name[len(name)] < 0x2F:
                break
    else:
        return by_name
    streams = []
    for side in sides:
        keyed = sorted((n + b"/" if _is_dir(v) else n, n) for n, v in side.items())
        streams.append([n for _, n in keyed])
    members = [set(stream) for stream in streams]
    pos = [0] * len(streams)
    taken: list[set[bytes]] = [set() for _ in streams]
    order: list[bytes] = []
    while True:
        heads = []
        for i, stream in enumerate(streams):
            while pos[i] < len(stream) and stream[pos[i]] in taken[i]:
                pos[i] += 1
            if pos[i] < len(stream):
                heads.append(stream[pos[i]])
        if not heads:
            return order
        first = min(heads)
        order.append(first)
        for i in range(len(streams)):
            if first in members[i]:
                taken[i].add(first)


class OrtMerge:
    """State of one ``merge_ort_nonrecursive_internal()`` call."""

    def __init__(
        self,
        objects: ObjectCache,
        spans: SpanHashCache,
        branch1: str,
        branch2: str,
        call_depth: int = 0,
    ) -> None:
        self.obj = objects
        self.spans = spans
        self.branch1 = branch1
        self.branch2 = branch2
        self.depth = call_depth
        self.paths: dict[bytes, Info] = {}
        # Entries identical on all three sides, per directory (see module doc).
        self.bulk: dict[bytes, _Bulk] = {}
        self.conflicted: dict[bytes, Info] = {}
        self.messages: list[LogicalConflict] = []
        self.pairs: list[list[FilePair]] = [[], [], []]
        self.dirs_removed: list[dict[bytes, int]] = [{}, {}, {}]
        self.dir_rename_count: list[dict[bytes, dict[bytes, int]]] = [{}, {}, {}]
        self.dir_renames: list[dict[bytes, bytes]] = [{}, {}, {}]
        self.relevant_sources: list[dict[bytes, int]] = [{}, {}, {}]
        self.possible_trivial: list[dict[bytes, int]] = [{}, {}, {}]
        self.trivial_okay = [True, True, True]
        self.target_dirs: list[set[bytes]] = [set(), set(), set()]
        self.dir_rename_mask = 0
        self.current_dir = b""
        # Rename results kept across ort's "redo after renames" restart.
        self.cached_pairs: list[dict[bytes, bytes | None]] = [{}, {}, {}]
        self.cached_target_names: list[set[bytes]] = [set(), set(), set()]
        self.cached_irrelevant: list[set[bytes]] = [set(), set(), set()]
        self.redo_after_renames = 0

    def _reinit(self) -> None:
        """``clear_or_reinit_internal_opts(reinitialize=1)`` keeping the rename caches."""
        self.paths = {}
        self.bulk = {}
        self.conflicted = {}
        self.pairs = [[], [], []]
        self.dirs_removed = [{}, {}, {}]
        self.dir_renames = [{}, {}, {}]
        self.relevant_sources = [{}, {}, {}]
        self.possible_trivial = [{}, {}, {}]
        self.trivial_okay = [True, True, True]
        self.target_dirs = [set(), set(), set()]
        self.dir_rename_mask = 0

    def _git_path_count(self) -> int:
        """``strmap_get_size(&opt->priv->paths)``: bulk entries are paths for git too."""
        return len(self.paths) + sum(b.count + len(b.resolved) for b in self.bulk.values())

    # ------------------------------------------------------------------ utils

    def _msg(self, kind: str, *paths: bytes) -> None:
        if not self.depth:
            self.messages.append(LogicalConflict(kind, tuple(paths)))

    def _exists(self, path: bytes) -> bool:
        if path in self.paths:
            return True
        bulk = self.bulk.get(_parent(path))
        return bulk is not None and bulk.contains(_basename(path))

    def _unique_path(self, path: bytes, branch: str) -> bytes:
        base = path + b"~" + branch.encode("utf-8", "surrogateescape").replace(b"/", b"_")
        candidate = base
        suffix = 0
        while self._exists(candidate):
            candidate = b"%s_%d" % (base, suffix)
            suffix += 1
        return candidate

    # -------------------------------------------------------- collect_merge_info

    def collect(self, base: bytes | None, side1: bytes, side2: bytes) -> None:
        self.current_dir = b""
        self._traverse(b"", (base, side1, side2))
        self._handle_deferred()

    def _traverse(self, dirpath: bytes, trees: tuple[bytes | None, bytes | None, bytes | None]):
        """One ``traverse_trees()`` level; entries whose result is known on sight stay in bulk.

        With many changes the result is spliced from the side that changed the directory more
        (``keep``): an entry the other side left as it was comes out as ``keep``'s when it is a
        file on all three sides or the same on all three (git resolves those on sight, see
        `_visit`), so only the other side's changes, and ``keep``'s additions, deletions and
        changes to or from a directory, are looked at one by one. A long-lived branch merged
        with a main line that changed thousands of files of one folder costs the branch's
        changes. With few changes each changed entry is looked at, as that needs no lookup
        table of a big directory's names.
        """
        t0, t1, t2 = (self.obj.tree_data(t) for t in trees)
        # The directories' entries as raw records: symmetric differences run at C speed,
        # whatever the size of the directory, and only the records that differ are parsed.
        s0 = t0.record_set()
        s1 = s0 if t1 is t0 else t1.record_set()
        s2 = s0 if t2 is t0 else (s1 if t2 is t1 else t2.record_set())
        x1 = s0 ^ s1
        x2 = s0 ^ s2
        if len(x1) + len(x2) <= _FEW_CHANGES:
            # Few changes: look at each changed entry, spliced out of the base tree.
            keep = t0
            changes = x1 | x2
            d0 = _side(changes & s0)
            d1 = d0 if s1 is s0 else _side(changes & s1)
            d2 = d0 if s2 is s0 else (d1 if s2 is s1 else _side(changes & s2))
            look = d0.keys() | d1.keys() | d2.keys()
            dk = d0
        else:
            if len(x2) <= len(x1):
                keep, sk, so, keep_changes, other_changes = t1, s1, s2, x1, x2
            else:
                keep, sk, so, keep_changes, other_changes = t2, s2, s1, x2, x1
            # Everything comes from the symmetric differences, never a lookup table of the
            # whole directory: a name's entry on a side differs from the base's exactly when
            # the name is among that side's changes, and then both entries are in them.
            # `keep`'s changes may be thousands: only their names are read, and only the
            # records of names looked at are parsed.
            kept_base, base_dirs = records_by_name(keep_changes & s0)  # changed or removed
            kept_new, new_dirs = records_by_name(keep_changes & sk)  # new or changed
            other_base = parse_records(other_changes & s0)
            other_new = parse_records(other_changes & so)
            other_names = {e[0] for e in other_base}
            other_names.update(e[0] for e in other_new)
            # ... and what `keep` added or deleted, and its changes to or from a directory
            look = other_names | (kept_base.keys() ^ kept_new.keys())
            look.update(base_dirs)
            look.update(new_dirs)
            base_names = kept_base.keys()
            d0 = _side([kept_base[n] for n in look if n in kept_base])
            d0.update({n: (m, o) for n, m, o in other_base})
            dk = _side([kept_new[n] for n in look if n in kept_new])
            do = {n: (m, o) for n, m, o in other_new}
            for n in look:
                v = d0.get(n)
                if v is not None:
                    if n not in base_names:
                        dk[n] = v
                    if n not in other_names:
                        do[n] = v
            d1, d2 = (dk, do) if keep is t1 else (do, dk)
        names = _walk_order(look, (d0, d1, d2))
        n_same = keep.count() - len(dk)
        if n_same:
            # One entry of the bulk stays a real path so this directory is "opened" by
            # process_entries even if nothing else remains in it; the rest is spliced from
            # the raw tree of ``keep`` when it is written.
            rep = _first_not_in(keep, look)
            mi = Info(dirpath)
            mi.clean = True
            mi.result = (rep[1], rep[2])
            self.paths[dirpath + b"/" + rep[0] if dirpath else rep[0]] = mi
            removed = [(n, m, o) for n, (m, o) in dk.items()]
            removed.append(rep)
            self.bulk[dirpath] = _Bulk(keep, removed, n_same - 1)
        if self.dir_rename_mask in (2, 4):
            # traverse_trees_wrapper(): look at every file first
            for name in names:
                n0, n1, n2 = d0.get(name), d1.get(name), d2.get(name)
                mask = (n0 is not None) | (n1 is not None) << 1 | (n2 is not None) << 2
                dirmask = _is_dir(n0) | _is_dir(n1) << 1 | _is_dir(n2) << 2
                filemask = mask & ~dirmask
                if filemask and filemask == self.dir_rename_mask:
                    self.dir_rename_mask = 7
        # A file on all three sides that one side left as it was (or both changed the same
        # way) resolves to the other side's version: collect_merge_info_callback() records it
        # clean and touches nothing else (no rename pair, no directory state). Thousands of
        # such files are what a long-lived branch brings, so they skip the per-path Info and
        # are spliced into the directory when it is written, like the unchanged entries. The
        # first one stays a real path, so the directory is "opened" by process_entries.
        resolved: list[Entry] = []
        first = True
        for name in names:
            n0, n1, n2 = d0.get(name), d1.get(name), d2.get(name)
            if (
                n0 is not None
                and n1 is not None
                and n2 is not None
                and n0[0] & S_IFMT != S_IFDIR
                and n1[0] & S_IFMT != S_IFDIR
                and n2[0] & S_IFMT != S_IFDIR
                and (n1 in (n0, n2) or n2 == n0)
            ):
                if first:
                    first = False
                else:
                    result = n2 if n1 == n0 else n1
                    resolved.append((name, result[0], result[1]))
                    continue
            self._visit(dirpath, name, (n0, n1, n2))
        if resolved:
            bulk = self.bulk.get(dirpath)
            if bulk is None:
                bulk = self.bulk[dirpath] = _Bulk(keep, [], 0)
            bulk.resolved = resolved

    def _visit(self, dirname: bytes, name: bytes, names: tuple) -> None:
        """``collect_merge_info_callback()``."""
        n0, n1, n2 = names
        prev_mask = self.dir_rename_mask
        mask = (n0 is not None) | (n1 is not None) << 1 | (n2 is not None) << 2
        dirmask = _is_dir(n0) | _is_dir(n1) << 1 | _is_dir(n2) << 2
        filemask = mask & ~dirmask
        s1_base = n1 is not None and n0 is not None and n0 == n1
        s2_base = n2 is not None and n0 is not None and n0 == n2
        sides = n1 is not None and n2 is not None and n1 == n2
        match_mask = 0
        if s1_base:
            match_mask = 7 if s2_base else 3
        elif s2_base:
            match_mask = 5
        elif sides:
            match_mask = 6
        fullpath = dirname + b"/" + name if dirname else name

        resolved: tuple | None = None
        if s1_base and s2_base:
            resolved = n0
        elif sides and filemask == 7:
            resolved = n1
        elif s1_base and filemask == 7:
            resolved = n2
        elif s2_base and filemask == 7:
            resolved = n1
        if match_mask == 7 or resolved is not None:
            mi = Info(dirname)
            mi.clean = True
            if resolved is None:
                mi.is_null = True
            else:
                mi.result = resolved
            self.paths[fullpath] = mi
            return

        self._collect_rename_info(names, dirname, fullpath, filemask, dirmask, match_mask)
        ci = Info(dirname)
        ci.pathnames = [fullpath, fullpath, fullpath]
        ci.stages = [n if n is not None else _NULL for n in names]
        ci.filemask = filemask
        ci.dirmask = dirmask
        ci.df_conflict = filemask != 0 and dirmask != 0
        if dirmask:
            ci.is_null = True
        ci.match_mask = match_mask
        self.paths[fullpath] = ci
        if not dirmask:
            return
        side = 2 if s1_base else (1 if s2_base else 0)
        if filemask == 0 and dirmask in (2, 4):
            ci.match_mask = 7 - dirmask
            side = dirmask // 2
        if (
            self.dir_rename_mask != 7
            and side
            and self.trivial_okay[side]
            and fullpath not in self.target_dirs[side]
        ):
            self.possible_trivial[side][fullpath] = self.dir_rename_mask
            self.dir_rename_mask = prev_mask
            return
        ci.match_mask &= filemask
        trees = tuple(n[1] if _is_dir(n) else None for n in names)
        saved = self.current_dir
        self.current_dir = fullpath
        self._traverse(fullpath, trees)  # type: ignore[arg-type]
        self.current_dir = saved
        self.dir_rename_mask = prev_mask

    def _collect_rename_info(
        self,
        names: tuple,
        dirname: bytes,
        fullname: bytes,
        filemask: int,
        dirmask: int,
        match_mask: int,
    ) -> None:
        if self.dir_rename_mask != 7 and dirmask in (3, 5):
            self.dir_rename_mask = dirmask & ~1
        if dirmask in (1, 3, 5):
            sides = (7 - dirmask) // 2
            relevance = RELEVANT_FOR_ANCESTOR if self.dir_rename_mask == 7 else NOT_RELEVANT
            if sides & 1:
                self.dirs_removed[1][fullname] = relevance
            if sides & 2:
                self.dirs_removed[2][fullname] = relevance
        if self.dir_rename_mask == 7 and filemask in (2, 4):
            side = 3 - (filemask >> 1)
            self.dirs_removed[side][dirname] = RELEVANT_FOR_SELF
        if filemask in (0, 7):
            return
        for side in (1, 2):
            side_mask = 1 << side
            if filemask & 1 and not filemask & side_mask:
                mm = match_mask & filemask
                content = mm == 0
                location = self.dir_rename_mask == 7
                if content:
                    self.cached_irrelevant[side].discard(fullname)
                if content or location:
                    self.relevant_sources[side][fullname] = (
                        RELEVANT_CONTENT if content else RELEVANT_LOCATION
                    )
                if fullname in self.cached_pairs[side] or fullname in self.cached_irrelevant[side]:
                    continue
                mode, oid = names[0]
                self.pairs[side].append(FilePair(FileSpec(fullname, mode, oid), FileSpec(fullname)))
            if not filemask & 1 and filemask & side_mask:
                if fullname in self.cached_target_names[side]:
                    continue
                mode, oid = names[side]
                self.pairs[side].append(FilePair(FileSpec(fullname), FileSpec(fullname, mode, oid)))

    def _resolve_trivial_dir(self, ci: Info, side: int) -> None:
        ci.result = ci.stages[side]
        ci.is_null = ci.stages[side][1] is None
        ci.match_mask = 0
        ci.clean = True

    def _handle_deferred(self) -> None:
        """``handle_deferred_entries()``: trivial directory merges, or walk them after all."""
        count_before = self._git_path_count()
        count_after = 0
        for side in (1, 2):
            okay = True
            for path in self.relevant_sources[side]:
                if path in self.cached_irrelevant[side]:
                    continue
                if path not in self.cached_pairs[side]:
                    okay = False
                    break
                target = self.cached_pairs[side][path]
                if target is None or self._exists(target):
                    continue
                d = target
                while b"/" in d:
                    d = d[: d.rfind(b"/")]
                    if d in self.target_dirs[side]:
                        break
                    self.target_dirs[side].add(d)
            self.trivial_okay[side] = okay
            todo = self.possible_trivial[side]
            self.possible_trivial[side] = {}
            if okay and self.target_dirs[side].isdisjoint(todo):
                # All resolve on sight, and each on its own: git's map order changes nothing.
                for path in todo:
                    self._resolve_trivial_dir(self.paths[path], side)
                todo = {}
            for path in git_iteration_order(todo):
                mask = todo[path]
                ci = self.paths[path]
                if okay and path not in self.target_dirs[side]:
                    self._resolve_trivial_dir(ci, side)
                    continue
                trees = tuple(ci.stages[i][1] if ci.dirmask & (1 << i) else None for i in range(3))
                ci.match_mask &= ci.filemask
                self.current_dir = path
                self.dir_rename_mask = mask
                self._traverse(path, trees)  # type: ignore[arg-type]
            for path in self.possible_trivial[side]:  # each on its own: in any order
                self._resolve_trivial_dir(self.paths[path], side)
            self.possible_trivial[side] = {}
            if not okay or count_after:
                count_after = self._git_path_count()
        if count_after:
            if self.redo_after_renames:
                raise MergeAbortedError("git merge-ort aborts here (redo_after_renames != 0)")
            if count_before and count_after // count_before >= 3:
                self.redo_after_renames = 1
        elif self.redo_after_renames == 2:
            self.redo_after_renames = 0

    # ------------------------------------------------------------ content merges

    def content_merge(
        self,
        path: bytes,
        o: Version,
        a: Version,
        b: Version,
        pathnames: list[bytes],
        extra_marker_size: int,
    ) -> tuple[bool, Version]:
        """``handle_content_merge()``: returns (clean, merged version)."""
        _git_assert(a[0] & S_IFMT == b[0] & S_IFMT, "(S_IFMT & a->mode) == (S_IFMT & b->mode)")
        clean = True
        if a[0] == b[0] or a[0] == o[0]:
            mode = b[0]
        else:
            mode = a[0]
            clean = b[0] == o[0]
        if a[1] == b[1] or a[1] == o[1]:
            return clean, (mode, b[1])
        if b[1] == o[1]:
            return clean, (mode, a[1])
        assert a[1] is not None and b[1] is not None
        if _isreg(a[0]):
            two_way = (o[0] & S_IFMT) != (a[0] & S_IFMT)
            base = b"" if two_way or o[1] is None else self.obj.blob(o[1])
            if pathnames[0] == pathnames[1] == pathnames[2]:
                name1, name2 = self.branch1, self.branch2
            else:
                name1 = f"{self.branch1}:{pathnames[1].decode('utf-8', 'surrogateescape')}"
                name2 = f"{self.branch2}:{pathnames[2].decode('utf-8', 'surrogateescape')}"
            res = merge_text(
                base,
                self.obj.blob(a[1]),
                self.obj.blob(b[1]),
                ours_label=name1,
                theirs_label=name2,
                marker_size=7 + extra_marker_size,
                virtual_ancestor=self.depth > 0,
            )
            oid = self.obj.write_blob(res.content)
            if res.binary and res.conflicts:
                self._msg("binary", path)
            return clean and not res.conflicts, (mode, oid)
        if a[0] & S_IFMT == S_IFGITLINK:
            two_way = (o[0] & S_IFMT) != (a[0] & S_IFMT)
            if self.depth:
                return False, (o[0], o[1]) if two_way else (mode, o[1])
            self._msg("submodule", path)
            return False, (mode, a[1])
        if a[0] & S_IFMT == S_IFLNK:
            if self.depth:
                return False, (o[0], o[1])
            return False, (mode, a[1])
        raise ValueError(f"unsupported mode {a[0]:o} for {path!r}")

    # ------------------------------------------------------------------ renames

    def detect_and_process_renames(self) -> bool:
        def possible(side: int) -> bool:
            return bool(self.pairs[side]) and bool(self.relevant_sources[side])

        for side in (1, 2):  # prune_cached_from_relevant()
            for path in list(self.relevant_sources[side]):
                if path in self.cached_pairs[side] or path in self.cached_irrelevant[side]:
                    del self.relevant_sources[side][path]
        if not (possible(1) or possible(2) or self.cached_pairs[1] or self.cached_pairs[2]):
            return True
        detection_run = False
        for side in (1, 2):
            if not possible(side):
                resolve_statuses(self.pairs[side])
                continue
            detection_run = True
            self.dir_rename_count[side] = {}
            self.pairs[side], limited = detect_renames(
                self.pairs[side],
                self.spans,
                self.relevant_sources[side],
                self.dirs_removed[side],
                self.dir_rename_count[side],
                self.cached_pairs[side],
            )
            resolve_statuses(self.pairs[side])
            if limited:
                self.redo_after_renames = 0
        if self.redo_after_renames and detection_run:
            for side in (1, 2):
                for p in self.pairs[side]:
                    self._possibly_cache_new_pair(p, side)
            self.redo_after_renames = 2
            return True
        for side in (1, 2):  # use_cached_pairs()
            cached = self.cached_pairs[side]
            for old_name in git_iteration_order(cached):
                new_name = cached[old_name]
                pair = FilePair(FileSpec(old_name), FileSpec(new_name or old_name))
                pair.status = "R" if new_name else "D"
                self.pairs[side].append(pair)
        clean = True
        if not self.depth:
            clean &= self._provisional_dir_renames(1)
            clean &= self._provisional_dir_renames(2)
            for src in [k for k in self.dir_renames[1] if k in self.dir_renames[2]]:
                del self.dir_renames[1][src]
                del self.dir_renames[2][src]
        collisions = [{}, self._collisions(self.dir_renames[2], 1), {}]
        collisions[2] = self._collisions(self.dir_renames[1], 2)
        combined: list[FilePair] = []
        ok1 = self._collect_renames(
            combined, 1, collisions, self.dir_renames[2], self.dir_renames[1]
        )
        ok2 = self._collect_renames(
            combined, 2, collisions, self.dir_renames[1], self.dir_renames[2]
        )
        clean &= ok1 and ok2
        combined.sort(key=lambda p: p.one.path)
        clean &= self._process_renames(combined)
        return clean

    def _possibly_cache_new_pair(self, p: FilePair, side: int) -> None:
        """``possibly_cache_new_pair()`` for the restart (no directory rename involved)."""
        val = self.relevant_sources[side].get(p.one.path, -1)
        if val == RELEVANT_NO_MORE:
            self.cached_irrelevant[side].add(p.one.path)
        if val <= 0:
            return
        if p.status == "D":
            self.cached_pairs[side][p.one.path] = None
        elif p.status == "R":
            self.cached_pairs[side][p.one.path] = p.two.path
            self.cached_target_names[side].add(p.two.path)

    def _provisional_dir_renames(self, side: int) -> bool:
        clean = True
        for source_dir, counts in self.dir_rename_count[side].items():
            best = None
            max_count = bad_max = 0
            for target_dir, count in counts.items():
                if count == max_count:
                    bad_max = max_count
                elif count > max_count:
                    max_count = count
                    best = target_dir
            if max_count == 0:
                continue
            if bad_max == max_count:
                self._msg("directory rename split", source_dir)
                clean = False
            elif best is not None:
                self.dir_renames[side][source_dir] = best
        return clean

    @staticmethod
    def _check_dir_renamed(path: bytes, dir_renames: dict[bytes, bytes]) -> bytes | None:
        temp = path
        while True:
            i = temp.rfind(b"/")
            if i < 0:
                return None
            temp = temp[:i]
            if temp in dir_renames:
                return temp

    @staticmethod
    def _apply_dir_rename(old_dir: bytes, new_dir: bytes, old_path: bytes) -> bytes:
        oldlen = len(old_dir)
        if not new_dir:
            oldlen += 1
        return new_dir + old_path[oldlen:]

    def _collisions(self, dir_renames: dict[bytes, bytes], side: int) -> dict[bytes, list]:
        collisions: dict[bytes, list] = {}
        if not dir_renames:
            return collisions
        for p in self.pairs[side]:
            if p.status not in ("A", "R"):
                continue
            old_dir = self._check_dir_renamed(p.two.path, dir_renames)
            if old_dir is None:
                continue
            new_path = self._apply_dir_rename(old_dir, dir_renames[old_dir], p.two.path)
            info = collisions.setdefault(new_path, [set(), False])
            info[0].add(p.two.path)
        return collisions

    def _path_in_way(self, path: bytes, side_mask: int) -> bool:
        mi = self.paths.get(path)
        if mi is None:
            return self._exists(path)
        return mi.clean or bool(side_mask & (mi.filemask | mi.dirmask))

    def _check_for_directory_rename(
        self,
        path: bytes,
        side: int,
        dir_renames: dict[bytes, bytes],
        exclusions: dict[bytes, bytes],
        collisions: list[dict[bytes, list]],
    ) -> tuple[bytes | None, bool]:
        if not dir_renames:
            return None, True
        if path in collisions[3 - side]:
            return None, True
        old_dir = self._check_dir_renamed(path, dir_renames)
        if old_dir is None:
            return None, True
        new_dir = dir_renames[old_dir]
        if new_dir in exclusions:
            return None, True
        new_path = self._apply_dir_rename(old_dir, new_dir, path)
        c_info = collisions[side][new_path]
        if c_info[1]:
            return None, False
        if self._path_in_way(new_path, 1 << side):
            c_info[1] = True
            self._msg("file in way of directory rename", new_path, *sorted(c_info[0]))
            return None, False
        if len(c_info[0]) > 1:
            c_info[1] = True
            self._msg("directory rename collision", new_path, *sorted(c_info[0]))
            return None, False
        return new_path, True

    def _collect_renames(
        self,
        result: list[FilePair],
        side: int,
        collisions: list[dict[bytes, list]],
        dir_renames: dict[bytes, bytes],
        exclusions: dict[bytes, bytes],
    ) -> bool:
        clean = True
        for p in self.pairs[side]:
            if p.status not in ("A", "R"):
                continue
            new_path, ok = self._check_for_directory_rename(
                p.two.path, side, dir_renames, exclusions, collisions
            )
            clean &= ok
            if p.status != "R" and new_path is None:
                continue
            if new_path is not None:
                self._apply_dir_rename_modifications(p, new_path)
            p.score = side
            result.append(p)
        return clean

    def _apply_dir_rename_modifications(self, pair: FilePair, new_path: bytes) -> None:
        old_path = pair.two.path
        ci = self.paths[old_path]
        cur = new_path
        to_insert: list[bytes] = []
        while True:
            i = cur.rfind(b"/")
            if i < 0:
                parent = b""
                break
            parent = cur[:i]
            if self._exists(parent):
                break
            to_insert.append(parent)
            cur = parent
        for d in reversed(to_insert):
            dir_ci = Info(parent)
            dir_ci.dirmask = ci.filemask
            self.paths[d] = dir_ci
            parent = d
        _git_assert(ci.filemask in (2, 4), "ci->filemask == 2 || ci->filemask == 4")
        _git_assert(ci.dirmask in (0, 1), "ci->dirmask == 0 || ci->dirmask == 1")
        if ci.dirmask == 0:
            del self.paths[old_path]
        else:
            new_ci = ci.copy()
            new_ci.dirmask = 0
            new_ci.stages[1] = _NULL
            ci.filemask = 0
            ci.clean = True
            for i in range(3):
                if not ci.dirmask & (1 << i):
                    ci.stages[i] = _NULL
            ci = new_ci
        ci.dirname = parent
        existing = self.paths.get(new_path)
        if existing is None:
            self.paths[new_path] = ci
        else:
            _verify_ci(existing, "apply_directory_rename_modifications")
            _git_assert(
                not existing.filemask & ci.filemask, "(new_ci->filemask & ci->filemask) == 0"
            )
            existing.filemask |= ci.filemask
            if existing.dirmask:
                existing.df_conflict = True
            index = ci.filemask >> 1
            existing.pathnames[index] = ci.pathnames[index]
            existing.stages[index] = ci.stages[index]
            ci = existing
        ci.path_conflict = True  # merge.directoryRenames=conflict (git's default)
        self._msg("file location", new_path, old_path)
        pair.two.path = new_path

    def _process_renames(self, renames: list[FilePair]) -> bool:
        clean_merge = True
        i = 0
        n = len(renames)
        while i < n:
            pair = renames[i]
            oldpath = pair.one.path
            newpath = pair.two.path
            oldinfo = self.paths.get(oldpath)
            newinfo = self.paths.get(newpath)
            if oldinfo is None or oldinfo.clean:
                i += 1
                continue
            if i + 1 < n and oldpath == renames[i + 1].one.path:
                pathnames = [oldpath, newpath, renames[i + 1].two.path]
                base = _verify_ci(self.paths.get(pathnames[0]), "rename/rename base")
                side1 = _verify_ci(self.paths.get(pathnames[1]), "rename/rename side1")
                side2 = _verify_ci(self.paths.get(pathnames[2]), "rename/rename side2")
                if pathnames[1] == pathnames[2]:
                    side1.stages[0] = base.stages[0]
                    side1.filemask |= 1
                    base.is_null = True
                    base.clean = True
                    i += 2
                    continue
                ok, merged = self.content_merge(
                    oldpath,
                    base.stages[0],
                    side1.stages[1],
                    side2.stages[2],
                    pathnames,
                    1 + 2 * self.depth,
                )
                clean_merge = ok
                was_binary = not ok and merged == side1.stages[1]
                side1.stages[1] = merged
                side2.stages[2] = side2.stages[2] if was_binary else merged
                side1.path_conflict = True
                side2.path_conflict = True
                base.path_conflict = True
                self._msg("rename/rename", *pathnames)
                i += 2
                continue
            newinfo = _verify_ci(newinfo, "process_renames")
            target = pair.score
            other = 3 - target
            old_sidemask = 1 << other
            source_deleted = oldinfo.filemask == 1
            collision = bool(newinfo.filemask & old_sidemask)
            type_changed = not source_deleted and (
                _isreg(oldinfo.stages[other][0]) != _isreg(newinfo.stages[target][0])
            )
            if type_changed and collision:
                collision = False
            _git_assert(
                source_deleted or bool(oldinfo.filemask & old_sidemask),
                "source_deleted || oldinfo->filemask & old_sidemask",
            )
            if collision and not source_deleted:
                pathnames = [oldpath, b"", b""]
                pathnames[other] = oldpath
                pathnames[target] = newpath
                base = _verify_ci(self.paths.get(pathnames[0]), "rename collision base")
                side1 = _verify_ci(self.paths.get(pathnames[1]), "rename collision side1")
                side2 = _verify_ci(self.paths.get(pathnames[2]), "rename collision side2")
                ok, merged = self.content_merge(
                    oldpath,
                    base.stages[0],
                    side1.stages[1],
                    side2.stages[2],
                    pathnames,
                    1 + 2 * self.depth,
                )
                newinfo.stages[target] = merged
                if not ok:
                    self._msg("rename involved in collision", newpath, oldpath)
            elif collision and source_deleted:
                newinfo.path_conflict = True
                self._msg("rename/delete", newpath, oldpath)
            else:
                newinfo.stages[0] = oldinfo.stages[0]
                newinfo.filemask |= 1
                newinfo.pathnames[0] = oldpath
                if type_changed:
                    oldinfo.stages[0] = _NULL
                    oldinfo.filemask &= 0x06
                elif source_deleted:
                    newinfo.path_conflict = True
                    self._msg("rename/delete", newpath, oldpath)
                else:
                    newinfo.stages[other] = oldinfo.stages[other]
                    newinfo.filemask |= 1 << other
                    newinfo.pathnames[other] = oldpath
            if not type_changed:
                oldinfo.is_null = True
                oldinfo.clean = True
            i += 1
        return clean_merge

    # ---------------------------------------------------------- process_entries

    def process_entries(self) -> bytes:
        if not self.paths:
            return self.obj.write_tree([])
        plist = sorted(self.paths, key=lambda p: p + b"/", reverse=True)
        self._versions: list[tuple[bytes, int, bytes]] = []
        self._offsets: list[tuple[bytes, int]] = []
        self._last_dir: bytes | None = None
        for path in plist:
            mi = self.paths[path]
            self._write_completed_directory(mi.dirname)
            if mi.clean:
                self._record(path, mi)
            else:
                self._process_entry(path, mi)
        assert len(self._offsets) == 1 and self._offsets[0][1] == 0
        return self._write_dir(b"", self._versions)

    def _record(self, path: bytes, mi: Info) -> None:
        if mi.is_null:
            return
        mode, oid = mi.result
        if oid is None:
            # git 2.39 quirk: apply_directory_rename_modifications() zeroes
            # stage 1 of a file that also had a directory on its path, and
            # git then writes that "version" as a mode-0, null-id entry.
            oid = _NULL_OID
        self._versions.append((_basename(path), mode, oid))

    def _write_dir(self, dirpath: bytes, entries: list[tuple[bytes, int, bytes]]) -> bytes:
        bulk = self.bulk.get(dirpath)
        if bulk is None:
            return self.obj.write_tree(list(entries))
        if not bulk.count:
            return self.obj.write_tree([*entries, *bulk.resolved])
        return self.obj.write_tree_spliced(bulk.tree, bulk.removed, [*entries, *bulk.resolved])

    def _write_completed_directory(self, new_dir: bytes) -> None:
        last = self._last_dir
        if new_dir == last:
            return
        if last is None or new_dir.startswith(last):
            self._offsets.append((new_dir, len(self._versions)))
            self._last_dir = new_dir
            return
        dir_info = self.paths[last]
        offset = self._offsets[-1][1]
        bulk = self.bulk.get(last)
        if offset == len(self._versions) and not (bulk and (bulk.count or bulk.resolved)):
            dir_info.is_null = True
        else:
            dir_info.is_null = False
            dir_info.result = (S_IFDIR, self._write_dir(last, self._versions[offset:]))
        self._offsets.pop()
        del self._versions[offset:]
        prev_dir = self._offsets[-1][0] if self._offsets else None
        if new_dir != prev_dir:
            self._offsets.append((new_dir, len(self._versions)))
        self._last_dir = new_dir

    def _process_entry(self, path: bytes, ci: Info) -> None:
        df_file_index = 0
        if ci.dirmask:
            self._record(path, ci)
            if ci.filemask == 0:
                return
            _git_assert(ci.df_conflict, "ci->df_conflict")
        if ci.df_conflict and ci.result[0] == 0:
            ci.df_conflict = False
            ci.clean = False
            ci.is_null = False
            ci.match_mask &= ~ci.dirmask
            ci.dirmask = 0
            for i in range(3):
                if not ci.filemask & (1 << i):
                    ci.stages[i] = _NULL
        elif ci.df_conflict and ci.result[0] != 0:
            _git_assert(ci.result[0] == S_IFDIR, "ci->merged.result.mode == S_IFDIR")
            if ci.filemask == 1:
                ci.filemask = 0
                return
            new_ci = ci.copy()
            new_ci.match_mask &= ~new_ci.dirmask
            new_ci.dirmask = 0
            for i in range(3):
                if not new_ci.filemask & (1 << i):
                    new_ci.stages[i] = _NULL
            df_file_index = 2 if ci.dirmask & 2 else 1
            branch = self.branch1 if df_file_index == 1 else self.branch2
            old_path = path
            path = self._unique_path(path, branch)
            self.paths[path] = new_ci
            self._msg("file/directory", path, old_path)
            ci.filemask = 0
            ci = new_ci

        if ci.match_mask:
            ci.clean = not ci.df_conflict and not ci.path_conflict
            if ci.match_mask == 6:
                ci.result = ci.stages[1]
            else:
                othermask = 7 & ~ci.match_mask
                side = 2 if othermask == 4 else 1
                ci.result = ci.stages[side]
                ci.is_null = not ci.result[0]
                if ci.is_null:
                    ci.clean = True
                _git_assert(othermask in (2, 4), "othermask == 2 || othermask == 4")
                _git_assert(
                    ci.is_null == (ci.filemask == ci.match_mask),
                    "ci->merged.is_null == (ci->filemask == ci->match_mask)",
                )
        elif ci.filemask >= 6 and (ci.stages[1][0] & S_IFMT) != (ci.stages[2][0] & S_IFMT):
            if self.depth:
                ci.clean = False
                ci.result = ci.stages[0]
                ci.is_null = ci.result[0] == 0
            else:
                path = self._distinct_types(path, ci)
        elif ci.filemask >= 6:
            ok, merged = self.content_merge(
                path, ci.stages[0], ci.stages[1], ci.stages[2], ci.pathnames, self.depth * 2
            )
            ci.clean = ok and not ci.df_conflict and not ci.path_conflict
            ci.result = merged
            ci.is_null = merged[0] == 0
            if ok and ci.df_conflict:
                ci.filemask = 1 << df_file_index
                ci.stages[df_file_index] = merged
            if not ok:
                self._msg("add/add" if ci.filemask == 6 else "contents", path)
        elif ci.filemask in (3, 5):
            side = 2 if ci.filemask == 5 else 1
            index = 0 if self.depth else side
            ci.result = ci.stages[index]
            ci.clean = False
            if not (ci.path_conflict and ci.stages[0][1] == ci.stages[side][1]):
                self._msg("modify/delete", path)
        elif ci.filemask in (2, 4):
            side = 2 if ci.filemask == 4 else 1
            ci.result = ci.stages[side]
            ci.clean = not ci.df_conflict and not ci.path_conflict
        elif ci.filemask == 1:
            ci.is_null = True
            ci.result = _NULL
            _git_assert(not ci.df_conflict, "!ci->df_conflict")
            ci.clean = not ci.path_conflict
        if not ci.clean:
            self.conflicted[path] = ci
        self._record(path, ci)

    def _distinct_types(self, path: bytes, ci: Info) -> bytes:
        o_mode, a_mode, b_mode = ci.stages[0][0], ci.stages[1][0], ci.stages[2][0]
        rename_a = rename_b = False
        if _isreg(a_mode):
            rename_a = True
        elif _isreg(b_mode):
            rename_b = True
        else:
            rename_a = rename_b = True
        a_path = self._unique_path(path, self.branch1) if rename_a else None
        b_path = self._unique_path(path, self.branch2) if rename_b else None
        self._msg("distinct types", path, *(p for p in (a_path, b_path) if p))
        ci.clean = False
        new_ci = ci.copy()
        new_ci.result = ci.stages[2]
        new_ci.stages[1] = _NULL
        new_ci.filemask = 5
        if (b_mode & S_IFMT) != (o_mode & S_IFMT):
            new_ci.stages[0] = _NULL
            new_ci.filemask = 4
        ci.result = ci.stages[1]
        ci.stages[2] = _NULL
        ci.filemask = 3
        if (a_mode & S_IFMT) != (o_mode & S_IFMT):
            ci.stages[0] = _NULL
            ci.filemask = 2
        if a_path is not None:
            self.paths[a_path] = ci
        if b_path is None:
            b_path = path
        self.paths[b_path] = new_ci
        if rename_a and rename_b:
            del self.paths[path]
        self.conflicted[b_path] = new_ci
        self._record(b_path, new_ci)
        return a_path if a_path is not None else path

    # --------------------------------------------------------------------- run

    def run(self, base: bytes | None, side1: bytes, side2: bytes) -> OrtOutcome:
        self.collect(base, side1, side2)
        clean = self.detect_and_process_renames()
        if self.redo_after_renames == 2:
            # merge_ort_nonrecursive_internal(): "goto redo" with cached renames
            self._reinit()
            self.collect(base, side1, side2)
            clean = self.detect_and_process_renames()
        tree = self.process_entries()
        clean = clean and not self.conflicted
        return OrtOutcome(tree, clean, self.conflicted, self.messages)
