"""Housekeeping of a bare repository: pack loose objects and refs, prune, fold the commit-graph.

Every merge, dry run and promotion writes loose objects (a merge of a big directory writes a
tree of hundreds of kilobytes) and loose refs; nothing in the day-to-day path packs them.
`housekeep` does, and is what the scheduled task runs (`branching.tasks.housekeeping`):

- what is reachable: from every ref (branches, tags, the promotions' temporary branches,
  anything under refs/), and from the commits the caller names in `keep` (what waiting,
  running and retryable promotions and deployments recorded: they may still need it);
- loose objects reachable, and older than `min_age` seconds, go into one new pack; the loose
  copies are removed only once the pack is in place. Young objects are left for the next run,
  so a merge still writing and reading its objects is never raced;
- loose objects that nothing reaches and whose file is older than `prune_after` seconds (the
  grace period, two weeks by default like git's gc.pruneExpire) are deleted; younger ones are
  kept. A writer that finds its object already stored refreshes the file's time instead of
  skipping silently (branching/git/freshen.py), so an old object a merge re-uses is young again;
- packs older than the grace period holding unreachable objects are rewritten with their
  reachable objects only (no "cruft" pack: what is past the grace period and unreachable goes,
  what is not yet past it stays in its pack, whose time a writer freshens as it does a loose
  file's; a pack with a `.keep` file, as git's, is never rewritten). A pack freshened while
  it was being rewritten is kept whole, and so is a loose file freshened since it was judged;
- loose branch refs are packed (`branching.git.refs.pack_refs`: per-ref locks, no lost update);
- the commit-graph chain is folded into one layer holding every commit reachable from a branch.

It lists every ref and walks every object: that is its job, on a schedule, never in a request.
"""

from __future__ import annotations

import os
import re
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dulwich.objects import Commit, ObjectID, Tag, Tree
from dulwich.pack import Pack
from dulwich.refs import Ref

from branching.git import refs
from branching.git.graph import load_commit_graph
from branching.git.history import update_commit_graph
from branching.git.storage import Repo

__all__ = ["HousekeepingReport", "housekeep", "storage_size"]

# Loose objects younger than this are left alone: a running merge may still be writing them.
MIN_AGE_SECONDS = 600
# Unreachable objects younger than this are kept (git's default gc.pruneExpire, two weeks).
PRUNE_AFTER_SECONDS = 14 * 24 * 3600
_HEX = re.compile(rb"[0-9a-f]{40}|[0-9a-f]{64}")
# Objects copied into one new pack at a time when a pack is rewritten (bounds the memory).
REPACK_BATCH = 20_000


@dataclass(frozen=True)
class HousekeepingReport:
    loose_packed: int
    loose_unreachable: int  # kept: younger than the grace period
    loose_young: int  # left for the next run
    refs_packed: int
    graph_commits: int
    size_before: int
    size_after: int
    loose_pruned: int = 0
    packed_pruned: int = 0  # unreachable objects dropped from rewritten packs
    packs_rewritten: int = 0
    pruned_bytes: int = 0  # on disk: the pruned loose files, the rewritten packs' difference

    def summary(self) -> str:
        return (
            f"packed {self.loose_packed} loose objects and {self.refs_packed} refs; "
            f"pruned {self.loose_pruned} loose and {self.packed_pruned} packed unreachable "
            f"objects ({_size(self.pruned_bytes)}); {self.loose_unreachable} unreachable and "
            f"{self.loose_young} recent loose objects kept; commit-graph of "
            f"{self.graph_commits} commits"
        )


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"


def storage_size(path: str | os.PathLike[str]) -> int:
    """Bytes on disk under the repository (objects, refs, everything)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                continue
    return total


def _reachable(repo: Repo, starts: list[ObjectID]) -> set[bytes]:
    store = repo.object_store
    seen: set[bytes] = set(starts)
    pending = deque(starts)
    while pending:
        sha = pending.popleft()
        try:
            obj = store[sha]
        except KeyError:
            continue
        if isinstance(obj, Commit):
            links = [obj.tree, *obj.parents]
        elif isinstance(obj, Tree):
            links = [entry.sha for entry in obj.iteritems() if entry.mode & 0o170000 != 0o160000]
        elif isinstance(obj, Tag):
            links = [obj.object[1]]
        else:
            continue
        for link in links:
            if link not in seen:
                seen.add(link)
                pending.append(link)
    return seen


def _mtime(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime
    except FileNotFoundError:
        return None


def housekeep(
    repo: Repo,
    *,
    min_age: int = MIN_AGE_SECONDS,
    prune_after: int = PRUNE_AFTER_SECONDS,
    keep: Iterable[str | bytes] = (),
) -> HousekeepingReport:
    """Pack, prune and fold (see the module docstring); `keep` names more commits to keep."""
    path = Path(repo.path)
    size_before = storage_size(path)
    store = repo.object_store
    now = time.time()
    ages: dict[ObjectID, float] = {}
    young = 0
    for sha in store._iter_loose_objects():
        mtime = _mtime(store._get_shafile_path(sha))
        if mtime is None:
            continue
        if now - mtime >= min_age:
            ages[sha] = now - mtime
        else:
            young += 1
    packs = [(pack, _mtime(pack._data_path)) for pack in store.packs]
    old_packs = [
        (p, m)
        for p, m in packs
        if m is not None and now - m >= prune_after and not os.path.exists(p._basename + ".keep")
    ]
    heads = list(repo.refs.as_dict(Ref(b"refs/heads")).values())
    roots = [sha for name, sha in repo.get_refs().items() if name != b"HEAD"]
    named = (k.encode() if isinstance(k, str) else k for k in keep)
    roots += [ObjectID(k) for k in named if _HEX.fullmatch(k)]
    reachable = _reachable(repo, roots) if ages or old_packs else set()
    to_pack = [sha for sha in ages if sha in reachable]
    if to_pack:
        store.add_objects([(store[sha], None) for sha in to_pack])
        for sha in to_pack:
            if store.contains_packed(sha):  # the pack is in place: the loose copy may go
                store.delete_loose_object(sha)
    loose_pruned = freed = 0
    for sha, age in ages.items():
        if sha in reachable or age < prune_after:
            continue
        file = store._get_shafile_path(sha)
        try:
            info = os.stat(file)
        except FileNotFoundError:
            continue
        if time.time() - info.st_mtime >= prune_after:  # not freshened meanwhile
            os.unlink(file)
            loose_pruned += 1
            freed += info.st_size
    packed_pruned, rewritten, pack_bytes = _prune_packs(repo, old_packs, reachable)
    refs_packed = refs.pack_refs(repo.controldir())
    update_commit_graph(repo, heads, fold=True)
    graph = load_commit_graph(store.path)
    return HousekeepingReport(
        loose_packed=len(to_pack),
        loose_unreachable=len(ages) - len(to_pack) - loose_pruned,
        loose_young=young,
        refs_packed=refs_packed,
        graph_commits=len(graph) if graph is not None else 0,
        size_before=size_before,
        size_after=storage_size(path),
        loose_pruned=loose_pruned,
        packed_pruned=packed_pruned,
        packs_rewritten=rewritten,
        pruned_bytes=freed + pack_bytes,
    )


def _prune_packs(
    repo: Repo, old_packs: Sequence[tuple[Pack, float]], reachable: set[bytes]
) -> tuple[int, int, int]:
    """Rewrite each old pack holding unreachable objects with its reachable ones only.

    Returns (objects dropped, packs rewritten, bytes freed). A pack whose time moved while it
    was copied (a writer freshened an object in it) is kept whole, for the next run to judge."""
    store = repo.object_store
    dropped = rewritten = freed = 0
    for pack, mtime in old_packs:
        shas = list(pack)
        garbage = [sha for sha in shas if sha not in reachable]
        if not garbage:
            continue
        kept = [sha for sha in shas if sha in reachable]
        for start in range(0, len(kept), REPACK_BATCH):
            batch = kept[start : start + REPACK_BATCH]
            written = store.add_objects([(pack[sha], None) for sha in batch])
            if written is not None:
                freed -= _bytes(written)
        if _mtime(pack._data_path) != mtime:
            continue  # freshened while copied: keep it whole (its copies are harmless)
        freed += _bytes(pack)
        store._remove_pack(pack)
        dropped += len(garbage)
        rewritten += 1
    return dropped, rewritten, freed


def _bytes(pack: Pack) -> int:
    return sum(os.path.getsize(p) for p in (pack._data_path, pack._idx_path) if os.path.exists(p))
