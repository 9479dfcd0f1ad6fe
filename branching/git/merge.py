"""Three-way merges in a bare repository that give exactly git's answer.

``merge_commits(repo, ours, theirs)`` computes what ``git merge-tree
--write-tree OURS THEIRS`` (git 2.39, the "ort" strategy, default config)
computes: the same result tree id, written to the object store, and the same
set of conflicted paths.  Nothing touches a work tree or an index and no git
binary runs; everything goes through dulwich objects.

Layers (each module says why it exists):

* :mod:`branching.git.xdiff` / :mod:`branching.git.textmerge` — git's
  histogram diff and zealous three-way text merge, conflict markers included.
* :mod:`branching.git.renames` — ``diffcore-rename`` as merge-ort drives it.
* :mod:`branching.git.ort` — merge-ort's tree merge.
* :mod:`branching.git.ancestry` — merge bases in git's order.
* :mod:`branching.git.strmap` — git's hash-map walk order, where it leaks.
* :mod:`branching.git.collector` — the garbage collector paused while a merge runs.
* this module — the public API and the recursive virtual merge base for
  criss-cross histories.

A :class:`Merger` keeps object and similarity caches between merges, which
is what makes a long-lived process cheap per merge; the module-level
functions accept one (``merger=``) and otherwise start cold.  There is no
module-level state.

Known differences from git (none seen in the agreement harness):

* git's configuration is not read: the result is git's with default config
  (``merge.conflictStyle=merge``, ``merge.renames``/``diff.renames`` on,
  ``merge.directoryRenames=conflict``, rename limit 7000).  Likewise
  ``$GIT_DIR/info/attributes`` / ``core.attributesFile`` merge drivers and
  ``conflict-marker-size`` (merge-tree never reads in-tree ``.gitattributes``
  without ``merge.renormalize``).
* Submodules are not merged: a gitlink changed differently on both sides is a
  conflict keeping "ours", as git does in a repository without the submodule.
* With a commit-graph file that carries corrected commit dates (the one
  ``git commit-graph write`` makes) git orders equal-date merge bases by
  them; we use git's commit-date order, which is what git itself does with
  the version-1 graph that :mod:`branching.git.graph` writes.
* git 2.39 dies on a few internal assertions in odd histories; we raise
  :class:`MergeAbortedError` where its main ones fire, but not at every one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dulwich.repo import BaseRepo

from branching.git.ancestry import CommitNode
from branching.git.ancestry import merge_bases as _merge_bases
from branching.git.collector import collector_paused
from branching.git.graph import load_commit_graph
from branching.git.history import History, Relation
from branching.git.objects import EMPTY_TREE, ObjectCache
from branching.git.ort import LogicalConflict, MergeAbortedError, OrtMerge
from branching.git.renames import SpanHashCache

__all__ = [
    "ConflictEntry",
    "LogicalConflict",
    "MergeAbortedError",
    "MergeResult",
    "Merger",
    "UnrelatedHistoriesError",
    "merge_base",
    "merge_commits",
    "merge_trees",
]


class UnrelatedHistoriesError(ValueError):
    """The commits share no ancestor (git refuses without --allow-unrelated-histories)."""


@dataclass(frozen=True)
class ConflictEntry:
    """One conflicted path with the index stages git would record for it.

    Each stage is ``(mode, hex blob id)`` or ``None`` when that side has no
    file there, so a UI can show base/ours/theirs content side by side.
    """

    path: str
    base: tuple[int, bytes] | None
    ours: tuple[int, bytes] | None
    theirs: tuple[int, bytes] | None
    result: tuple[int, bytes] | None  # what the result tree holds at ``path``


@dataclass(frozen=True)
class MergeResult:
    """Outcome of a merge, mirroring ``git merge-tree --write-tree`` output."""

    tree: bytes
    conflicts: tuple[str, ...]
    entries: tuple[ConflictEntry, ...] = ()
    messages: tuple[LogicalConflict, ...] = ()
    merge_bases: tuple[bytes, ...] = ()
    # merge-ort can be unclean without a conflicted path (e.g. an unclear
    # directory rename split); git then exits 1 with an empty path list.
    unclean_without_paths: bool = field(default=False)

    @property
    def clean(self) -> bool:
        return not self.conflicts and not self.unclean_without_paths

    def kinds(self) -> dict[str, list[str]]:
        """Conflict kinds (git's "CONFLICT (…)" words) by path."""
        out: dict[str, list[str]] = {}
        for msg in self.messages:
            if msg.paths:
                out.setdefault(_decode(msg.paths[0]), []).append(msg.kind)
        return out


def _decode(path: bytes) -> str:
    return path.decode("utf-8", "surrogateescape")


def _stage(v: tuple[int, bytes | None]) -> tuple[int, bytes] | None:
    return (v[0], v[1]) if v[0] and v[1] is not None else None


class Merger:
    """Merges with caches that survive from one merge to the next.

    Why a class: a release-management server merges the same branches again
    and again; keeping parsed trees, commit metadata and similarity
    fingerprints warm is most of the speed.
    """

    def __init__(self, object_store: Any, history: History | None = None) -> None:
        self.objects = ObjectCache(object_store)
        self.spans = SpanHashCache(self.objects.blob)
        if history is None:
            path = getattr(object_store, "path", None)
            graph = load_commit_graph(path) if isinstance(path, str) else None
            history = History(object_store, graph)
        self.history = history

    # ----------------------------------------------------------------- commits

    def node(self, sha: bytes) -> CommitNode:
        """Commit metadata needed by the merge-base walk (from the commit-graph, or read once)."""
        try:
            return self.history.node(sha)
        except ValueError:
            raise TypeError(f"{sha!r} is not a commit") from None

    def merge_base(self, ours: bytes, theirs: bytes) -> list[bytes]:
        """All best common ancestors, in ``git merge-base --all`` order."""
        return self.history.merge_bases(ours, theirs)

    def relate(self, ours: bytes, theirs: bytes) -> Relation:
        """Merge bases and ancestry of two commits from one walk (see `History.relate`)."""
        return self.history.relate(ours, theirs)

    # ------------------------------------------------------------------ merges

    def merge_trees(
        self,
        base_tree: bytes | None,
        ours_tree: bytes,
        theirs_tree: bytes,
        *,
        ours_label: str = "ours",
        theirs_label: str = "theirs",
    ) -> MergeResult:
        """Merge three trees (``None`` base = empty tree), like ort's non-recursive merge."""
        merge = OrtMerge(self.objects, self.spans, ours_label, theirs_label)
        with collector_paused():
            outcome = merge.run(base_tree, ours_tree, theirs_tree)
            result = self._result(outcome.tree, outcome.clean, merge, ())
            del merge, outcome  # freed before the collector resumes, never examined by it
        return result

    def merge_commits(
        self,
        ours: bytes,
        theirs: bytes,
        *,
        ours_label: str = "ours",
        theirs_label: str = "theirs",
        allow_unrelated_histories: bool = False,
    ) -> MergeResult:
        """``git merge-tree --write-tree ours theirs`` with the given marker labels."""
        h1 = self.node(ours)
        h2 = self.node(theirs)
        bases = [self.node(b) for b in self.history.merge_bases(ours, theirs)]
        if not bases and not allow_unrelated_histories:
            raise UnrelatedHistoriesError("refusing to merge unrelated histories")
        bases.reverse()  # merge-tree passes them oldest first
        base_ids = tuple(b.id for b in bases)
        virtual: dict[bytes, CommitNode] = {}
        with collector_paused():
            tree, clean, merge = self._merge_internal(
                bases, h1, h2, ours_label, theirs_label, 0, virtual
            )
            result = self._result(tree, clean, merge, base_ids)
            del merge, virtual  # freed before the collector resumes, never examined by it
        return result

    def _merge_internal(
        self,
        bases: list[CommitNode] | None,
        h1: CommitNode,
        h2: CommitNode,
        branch1: str,
        branch2: str,
        depth: int,
        virtual: dict[bytes, CommitNode],
    ) -> tuple[bytes, bool, OrtMerge]:
        """``merge_ort_internal()``: fold the merge bases into one, then merge.

        ``virtual`` holds the virtual merge-base commits made so far; they
        only live for this merge.
        """

        def lookup(sha: bytes) -> CommitNode:
            node = virtual.get(sha)
            return node if node is not None else self.node(sha)

        if bases is None:
            bases = _merge_bases(lookup, h1, h2)
            bases.reverse()
        if bases:
            merged = bases[0]
            rest = bases[1:]
        else:
            merged = CommitNode(b"", EMPTY_TREE, 0, [])
            rest = []
        for nxt in rest:
            prev = merged
            tree, _clean, _m = self._merge_internal(
                None,
                prev,
                nxt,
                "Temporary merge branch 1",
                "Temporary merge branch 2",
                depth + 1,
                virtual,
            )
            vid = b"virtual-%d" % (len(virtual) + 1)
            merged = virtual[vid] = CommitNode(vid, tree, 0, [prev.id, nxt.id])
        merge = OrtMerge(self.objects, self.spans, branch1, branch2, call_depth=depth)
        base_tree = None if merged.tree == EMPTY_TREE else merged.tree
        outcome = merge.run(base_tree, h1.tree, h2.tree)
        return outcome.tree, outcome.clean, merge

    def _result(
        self, tree: bytes, clean: bool, merge: OrtMerge, bases: tuple[bytes, ...]
    ) -> MergeResult:
        listed = sorted(p for p, ci in merge.conflicted.items() if ci.filemask)
        entries = []
        for path in listed:
            ci = merge.conflicted[path]
            stages = [_stage(ci.stages[i]) if ci.filemask & (1 << i) else None for i in range(3)]
            entries.append(
                ConflictEntry(
                    _decode(path),
                    stages[0],
                    stages[1],
                    stages[2],
                    None if ci.is_null else _stage(ci.result),
                )
            )
        return MergeResult(
            tree=tree,
            conflicts=tuple(_decode(p) for p in listed),
            entries=tuple(entries),
            messages=tuple(merge.messages),
            merge_bases=bases,
            unclean_without_paths=not clean and not listed,
        )


def merge_base(
    repo: BaseRepo, ours: bytes, theirs: bytes, *, merger: Merger | None = None
) -> list[bytes]:
    """All best common ancestors of two commits (``git merge-base --all``)."""
    return (merger or Merger(repo.object_store)).merge_base(ours, theirs)


def merge_commits(
    repo: BaseRepo,
    ours: bytes,
    theirs: bytes,
    *,
    ours_label: str = "ours",
    theirs_label: str = "theirs",
    allow_unrelated_histories: bool = False,
    merger: Merger | None = None,
) -> MergeResult:
    """Merge two commits like ``git merge-tree --write-tree ours theirs``.

    The labels are what git prints after ``<<<<<<<`` / ``>>>>>>>``; merge-tree
    uses the arguments it was given, so pass the same names to get the same
    blobs.  Pass a long-lived ``merger`` (for ``repo.object_store``) to keep
    its caches warm across calls; without one each call starts cold.
    """
    return (merger or Merger(repo.object_store)).merge_commits(
        ours,
        theirs,
        ours_label=ours_label,
        theirs_label=theirs_label,
        allow_unrelated_histories=allow_unrelated_histories,
    )


def merge_trees(
    object_store: Any,
    base_tree: bytes | None,
    ours_tree: bytes,
    theirs_tree: bytes,
    *,
    ours_label: str = "ours",
    theirs_label: str = "theirs",
    merger: Merger | None = None,
) -> MergeResult:
    """Non-recursive three-way merge of trees (``None`` base means no common ancestor)."""
    return (merger or Merger(object_store)).merge_trees(
        base_tree, ours_tree, theirs_tree, ours_label=ours_label, theirs_label=theirs_label
    )
