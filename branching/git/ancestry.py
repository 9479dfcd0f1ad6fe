"""Merge bases computed the way git 2.39 computes them, order included.

Why the order matters: with several merge bases (criss-cross history) ort
merges them pairwise into a virtual base, and which base is "Temporary merge
branch 1" decides the conflict markers inside that virtual base, which in
turn can decide the final tree.  So this reproduces ``paint_down_to_common``
(commit-date priority queue, FIFO among equal dates), ``remove_redundant``
and the date-ordered insertion of ``get_merge_bases``.  Repositories with a
commit-graph file would use generation numbers instead; git's results are
identical for the set of bases and only differ in walk cost, except for the
order of bases with equal commit dates (see ``docs`` in the merge module).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

PARENT1 = 1
PARENT2 = 2
STALE = 4
RESULT = 8


@dataclass
class CommitNode:
    """What the walk needs from a commit; virtual merge bases are nodes too."""

    id: bytes
    tree: bytes
    date: int
    parents: list[bytes] = field(default_factory=list)


NodeLookup = Callable[[bytes], CommitNode]


def _insert_by_date(lst: list[CommitNode], node: CommitNode) -> None:
    """``commit_list_insert_by_date``: after every entry not older than ``node``."""
    i = 0
    while i < len(lst) and not lst[i].date < node.date:
        i += 1
    lst.insert(i, node)


def _paint_down_to_common(
    lookup: NodeLookup, one: CommitNode, twos: list[CommitNode], flags: dict[bytes, int]
) -> list[CommitNode]:
    result: list[CommitNode] = []
    flags[one.id] = flags.get(one.id, 0) | PARENT1
    if not twos:
        return [one]
    counter = 0
    queue: list[tuple[int, int, CommitNode]] = []
    queued: dict[bytes, int] = {}  # queue entries per commit
    nonstale = 0  # queue entries whose commit is not STALE (queue_has_nonstale)

    def push(node: CommitNode) -> None:
        nonlocal counter, nonstale
        counter += 1
        heapq.heappush(queue, (-node.date, counter, node))
        queued[node.id] = queued.get(node.id, 0) + 1
        if not flags.get(node.id, 0) & STALE:
            nonstale += 1

    push(one)
    for two in twos:
        flags[two.id] = flags.get(two.id, 0) | PARENT2
        push(two)
    while nonstale:
        _, _, commit = heapq.heappop(queue)
        queued[commit.id] -= 1
        cflags = flags.get(commit.id, 0)
        if not cflags & STALE:
            nonstale -= 1
        f = cflags & (PARENT1 | PARENT2 | STALE)
        if f == PARENT1 | PARENT2:
            if not cflags & RESULT:
                flags[commit.id] = cflags | RESULT
                _insert_by_date(result, commit)
            f |= STALE
        for pid in commit.parents:
            pflags = flags.get(pid, 0)
            if pflags & f == f:
                continue
            parent = lookup(pid)
            if f & STALE and not pflags & STALE:
                nonstale -= queued.get(pid, 0)
            flags[pid] = pflags | f
            push(parent)
    return result


def merge_bases(lookup: NodeLookup, one: CommitNode, two: CommitNode) -> list[CommitNode]:
    """``get_merge_bases(one, two)``: best common ancestors, newest first."""
    if one.id == two.id:
        return [one]
    flags: dict[bytes, int] = {}
    painted = _paint_down_to_common(lookup, one, [two], flags)
    result: list[CommitNode] = []
    for c in painted:
        if not flags.get(c.id, 0) & STALE:
            _insert_by_date(result, c)
    if len(result) <= 1:
        return result
    kept = _remove_redundant(lookup, result)
    out: list[CommitNode] = []
    for c in kept:
        _insert_by_date(out, c)
    return out


def _remove_redundant(lookup: NodeLookup, array: list[CommitNode]) -> list[CommitNode]:
    """``remove_redundant_no_gen``: drop bases reachable from another base."""
    redundant = [False] * len(array)
    for i, ci in enumerate(array):
        if redundant[i]:
            continue
        others = [(j, c) for j, c in enumerate(array) if j != i and not redundant[j]]
        flags: dict[bytes, int] = {}
        _paint_down_to_common(lookup, ci, [c for _, c in others], flags)
        if flags.get(ci.id, 0) & PARENT2:
            redundant[i] = True
        for j, c in others:
            if flags.get(c.id, 0) & PARENT1:
                redundant[j] = True
    return [c for i, c in enumerate(array) if not redundant[i]]
