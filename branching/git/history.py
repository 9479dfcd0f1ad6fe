"""History questions whose cost is the distance between the commits, not the length of history.

Every commit gets a *position* and a *generation number* (its topological level: one more than
its highest parent's). Commits in the repository's commit-graph (`branching.git.graph`) have
both without a single object read; a commit the graph does not hold yet (made or fetched since
it was written) is read once, with its unread ancestors, and then behaves the same.

With generation numbers a walk can go in topological order (children before parents), so:

- `is_ancestor(a, d)` walks back from `d` only through commits whose generation is above
  `a`'s: asking about a recent commit reads a handful of commits however long the history.
- `merge_bases(a, b)` paints both sides down to where they meet; in topological order a commit's
  flags are final when it is taken, so the common ancestors found are exactly the best ones (no
  second pass to remove redundant bases). The walk's cost is the distance from each side to the
  fork, which is what `git merge-base` walks too.
- `relate(a, b)` answers both at once: `a` is in `b` exactly when the only merge base is `a`.

git lists merge bases newest first; when two of them share a commit date, their order depends
on git's date-ordered walk, so that (rare) case is answered by `branching.git.ancestry`, the
replica of git's walk, on the same cached commits.

A `History` caches what it has learnt (commits are immutable), so one that lives as long as the
process answers later questions from memory; `steps` and `commit_reads` count the work done, so
tests can prove a question did not walk or read the whole history.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dulwich.objects import Commit

from branching.git.ancestry import CommitNode
from branching.git.ancestry import merge_bases as _git_order_merge_bases
from branching.git.graph import (
    CommitGraph,
    GraphCommit,
    commit_for_graph,
    graph_files,
    load_commit_graph,
    write_layer,
)

__all__ = ["History", "Relation", "update_commit_graph"]

_P1, _P2, _STALE = 1, 2, 4
_BOTH = _P1 | _P2
# Heap keys pack (generation, position) into one int, highest generation first: comparing
# ints is several times cheaper than comparing tuples in the inner loop.
_GEN_CAP = 1 << 31
_SHIFT = 32
# Answers kept per History (pairs of commits): a promotion asks about a pair, then merges it.
_RELATIONS_KEPT = 4096


@dataclass(frozen=True)
class Relation:
    """How two commits relate: their best common ancestors (git's order) and ancestry."""

    merge_bases: tuple[bytes, ...]
    a_in_b: bool  # a is b or one of b's ancestors
    b_in_a: bool


class History:
    """Ancestry over one object store, backed by its commit-graph when there is one."""

    def __init__(self, object_store: Any, graph: CommitGraph | None = None) -> None:
        self.store = object_store
        self.graph = graph if graph is not None else CommitGraph()
        graph = self.graph
        # Positions beyond the graph's are commits read from the object store.
        self.ids = graph.ids
        self.trees = graph.trees
        self.parents = graph.parents
        self.generations = graph.generations
        self.times = graph.times
        self.positions = graph.positions
        self.graph_size = len(graph)
        self._relations: dict[tuple[int, int], Relation] = {}
        self.steps = 0  # commits taken by walks
        self.commit_reads = 0  # commit objects parsed (not found in the graph)

    @classmethod
    def open(cls, repo: Any) -> History:
        """A History of `repo` with its commit-graph (if any) loaded."""
        return cls(repo.object_store, load_commit_graph(repo.object_store.path))

    # ------------------------------------------------------------------ positions

    def position(self, commit_id: bytes) -> int:
        """The position of a commit (hex id), reading it and its unread ancestors if needed."""
        found = self.positions.get(commit_id)
        if found is not None:
            return found
        pending: dict[bytes, Commit] = {}
        stack = [commit_id]
        while stack:
            top = stack[-1]
            if top in self.positions:
                stack.pop()
                continue
            commit = pending.get(top)
            if commit is None:
                obj = self.store[top]
                if not isinstance(obj, Commit):
                    raise ValueError(f"{top.decode()} is not a commit.")
                self.commit_reads += 1
                commit = pending[top] = obj
            missing = [p for p in commit.parents if p not in self.positions]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            parents = tuple(self.positions[p] for p in commit.parents)
            position = len(self.ids)
            self.ids.append(top)
            self.trees.append(commit.tree)
            self.parents.append(parents)
            self.generations.append(1 + max((self.generations[p] for p in parents), default=0))
            self.times.append(commit.commit_time)
            self.positions[top] = position
        return self.positions[commit_id]

    def node(self, commit_id: bytes) -> CommitNode:
        """What `branching.git.ancestry` needs of a commit (for the merge code)."""
        p = self.position(commit_id)
        ids = self.ids
        return CommitNode(ids[p], self.trees[p], self.times[p], [ids[q] for q in self.parents[p]])

    # ------------------------------------------------------------------ questions

    def is_ancestor(self, ancestor: bytes, descendant: bytes) -> bool:
        """Whether `ancestor` is `descendant` or one of its ancestors."""
        target = self.position(ancestor)
        start = self.position(descendant)
        if target == start:
            return True
        generations, parents = self.generations, self.parents
        floor = generations[target]
        if generations[start] <= floor:
            return False
        stack = [start]
        seen = {start}
        steps = 0
        found = False
        while stack:
            steps += 1
            for p in parents[stack.pop()]:
                if p == target:
                    found = True
                    break
                if p not in seen and generations[p] > floor:
                    seen.add(p)
                    stack.append(p)
            if found:
                break
        self.steps += steps
        return found

    def _paint(self, a: int, b: int) -> tuple[list[int], dict[int, int]]:
        """Best common ancestors of positions `a` and `b`, and the flags the walk left."""
        generations, parents = self.generations, self.parents
        flags = {a: _P1, b: _P2}
        heap = [((_GEN_CAP - generations[p]) << _SHIFT) | p for p in (a, b)]
        heapq.heapify(heap)
        queued = {a, b}
        nonstale = 2
        found: list[int] = []
        steps = 0
        mask = (1 << _SHIFT) - 1
        while nonstale:
            c = heapq.heappop(heap) & mask
            queued.discard(c)
            while True:
                steps += 1
                f = flags[c]
                if not f & _STALE:
                    nonstale -= 1
                    if f & _BOTH == _BOTH:
                        found.append(c)
                        f |= _STALE
                ps = parents[c]
                if len(ps) == 1 and nonstale:
                    # A run of single-parent commits: the parent is walked at once when it
                    # would be the next one out of the queue anyway (the same walk as git's,
                    # without a push and a pop per commit of a long line).
                    p = ps[0]
                    pf = flags.get(p, 0)
                    nf = pf | f
                    if nf != pf and p not in queued:
                        key = ((_GEN_CAP - generations[p]) << _SHIFT) | p
                        if not heap or key < heap[0]:
                            flags[p] = nf
                            if not nf & _STALE:
                                nonstale += 1
                            if nonstale:
                                c = p
                                continue
                            queued.add(p)
                            heapq.heappush(heap, key)
                            break
                for p in ps:
                    pf = flags.get(p, 0)
                    nf = pf | f
                    if nf == pf:
                        continue
                    flags[p] = nf
                    if p in queued:
                        if nf & _STALE and not pf & _STALE:
                            nonstale -= 1
                    else:
                        queued.add(p)
                        heapq.heappush(heap, ((_GEN_CAP - generations[p]) << _SHIFT) | p)
                        if not nf & _STALE:
                            nonstale += 1
                break
        self.steps += steps
        return found, flags

    def merge_bases(self, a: bytes, b: bytes) -> list[bytes]:
        """All best common ancestors, in `git merge-base --all` order (newest first)."""
        return list(self.relate(a, b).merge_bases)

    def relate(self, a: bytes, b: bytes) -> Relation:
        """Merge bases and ancestry of `a` and `b` from one walk."""
        pa, pb = self.position(a), self.position(b)
        if pa == pb:
            return Relation((self.ids[pa],), True, True)
        known = self._relations.get((pa, pb))
        if known is not None:  # asked just before a merge of the same pair: one walk for both
            return known
        found, _ = self._paint(pa, pb)
        times = self.times
        ordered = sorted(found, key=lambda p: -times[p])
        if len({times[p] for p in ordered}) != len(ordered):
            # Equal dates: git's order comes from its date-ordered walk; replay that walk.
            nodes = _git_order_merge_bases(self.node, self.node(a), self.node(b))
            bases = tuple(n.id for n in nodes)
        else:
            bases = tuple(self.ids[p] for p in ordered)
        relation = Relation(bases, bases == (self.ids[pa],), bases == (self.ids[pb],))
        if len(self._relations) >= _RELATIONS_KEPT:
            self._relations.clear()
        self._relations[(pa, pb)] = relation
        return relation

    def ahead_behind(self, a: bytes, b: bytes) -> tuple[int, int]:
        """(commits in `a` not in `b`, commits in `b` not in `a`), like `git rev-list --count`."""
        pa, pb = self.position(a), self.position(b)
        if pa == pb:
            return 0, 0
        generations, parents = self.generations, self.parents
        flags = {pa: _P1}
        flags[pb] = flags.get(pb, 0) | _P2
        heap = [((_GEN_CAP - generations[p]) << _SHIFT) | p for p in {pa, pb}]
        heapq.heapify(heap)
        queued = {pa, pb}
        one_sided = sum(1 for p in queued if flags[p] != _BOTH)
        mask = (1 << _SHIFT) - 1
        steps = 0
        while one_sided:
            c = heapq.heappop(heap) & mask
            queued.discard(c)
            steps += 1
            f = flags[c]
            if f != _BOTH:
                one_sided -= 1
            for p in parents[c]:
                pf = flags.get(p, 0)
                nf = pf | f
                if nf == pf:
                    continue
                flags[p] = nf
                if p in queued:
                    if nf == _BOTH:
                        one_sided -= 1
                else:
                    queued.add(p)
                    heapq.heappush(heap, ((_GEN_CAP - generations[p]) << _SHIFT) | p)
                    if nf != _BOTH:
                        one_sided += 1
        self.steps += steps
        ahead = sum(1 for f in flags.values() if f == _P1)
        behind = sum(1 for f in flags.values() if f == _P2)
        return ahead, behind


def update_commit_graph(repo: Any, heads: Iterable[bytes], *, fold: bool = False) -> int:
    """Add the commits reachable from `heads` that the commit-graph lacks; return how many.

    Reads only the new commits (the walk stops at commits the graph holds), so keeping the graph
    current after a fetch or a promotion costs what the new commits cost. `fold` rewrites the
    whole chain as one layer (housekeeping). Returns 0 when another writer held the lock.
    """
    store = repo.object_store
    graph = load_commit_graph(store.path)
    known = graph.positions if graph is not None else {}
    new: dict[bytes, GraphCommit] = {}
    stack = [h for h in heads if h not in known]
    while stack:
        commit_id = stack.pop()
        if commit_id in new or commit_id in known:
            continue
        obj = store[commit_id]
        if not isinstance(obj, Commit):
            continue
        new[commit_id] = commit_for_graph(obj)
        stack.extend(p for p in obj.parents if p not in known and p not in new)
    if not new and not fold:
        return 0
    if not write_layer(store.path, graph, list(new.values()), fold=fold):
        return 0
    return len(new)


def graph_key(repo: Any) -> tuple[object, ...]:
    """See `branching.git.graph.graph_files`: changes whenever the graph is rewritten."""
    return graph_files(repo.object_store.path)
