"""Housekeeping of a bare repository: pack loose objects and refs, fold the commit-graph.

Every merge, dry run and promotion writes loose objects (a merge of a big directory writes a
tree of hundreds of kilobytes) and loose refs; nothing in the day-to-day path packs them.
`housekeep` does, and is what the scheduled task runs (`branching.tasks.housekeeping`):

- loose objects reachable from a branch or tag, and older than `min_age` seconds, go into one
  new pack; the loose copies are removed only once the pack is in place. Young objects are left
  for the next run, so a merge still writing and reading its objects is never raced;
- loose objects that nothing reaches are **kept**, loose: pruning them safely needs every writer
  to refresh an old object's date when it writes the same object again (as git does), which our
  writers do not do yet, so a merge reusing an old unreachable tree could lose it;
- loose branch refs are packed (`branching.git.refs.pack_refs`: per-ref locks, no lost update);
- the commit-graph chain is folded into one layer holding every commit reachable from a branch.

It lists every ref and walks every object: that is its job, on a schedule, never in a request.
"""

from __future__ import annotations

import os
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from dulwich.objects import Commit, ObjectID, Tag, Tree
from dulwich.refs import Ref

from branching.git import refs
from branching.git.graph import load_commit_graph
from branching.git.history import update_commit_graph
from branching.git.storage import Repo

__all__ = ["HousekeepingReport", "housekeep", "storage_size"]

# Loose objects younger than this are left alone: a running merge may still be writing them.
MIN_AGE_SECONDS = 600


@dataclass(frozen=True)
class HousekeepingReport:
    loose_packed: int
    loose_unreachable: int  # kept (see the module docstring)
    loose_young: int  # left for the next run
    refs_packed: int
    graph_commits: int
    size_before: int
    size_after: int

    def summary(self) -> str:
        return (
            f"packed {self.loose_packed} loose objects and {self.refs_packed} refs; "
            f"{self.loose_unreachable} unreachable and {self.loose_young} recent loose objects "
            f"kept; commit-graph of {self.graph_commits} commits"
        )


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


def housekeep(repo: Repo, *, min_age: int = MIN_AGE_SECONDS) -> HousekeepingReport:
    path = Path(repo.path)
    size_before = storage_size(path)
    store = repo.object_store
    now = time.time()
    loose = list(store._iter_loose_objects())
    old = []
    young = 0
    for sha in loose:
        try:
            age = now - os.stat(store._get_shafile_path(sha)).st_mtime
        except FileNotFoundError:
            continue
        if age >= min_age:
            old.append(sha)
        else:
            young += 1
    heads = list(repo.refs.as_dict(Ref(b"refs/heads")).values())
    tags = list(repo.refs.as_dict(Ref(b"refs/tags")).values())
    reachable = _reachable(repo, heads + tags) if old else set()
    to_pack = [sha for sha in old if sha in reachable]
    if to_pack:
        store.add_objects([(store[sha], None) for sha in to_pack])
        for sha in to_pack:
            if store.contains_packed(sha):  # the pack is in place: the loose copy may go
                store.delete_loose_object(sha)
    refs_packed = refs.pack_refs(repo.controldir())
    update_commit_graph(repo, heads, fold=True)
    graph = load_commit_graph(store.path)
    return HousekeepingReport(
        loose_packed=len(to_pack),
        loose_unreachable=len(old) - len(to_pack),
        loose_young=young,
        refs_packed=refs_packed,
        graph_commits=len(graph) if graph is not None else 0,
        size_before=size_before,
        size_after=storage_size(path),
    )
