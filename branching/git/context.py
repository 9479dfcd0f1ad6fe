"""A repository's long-lived history and merge caches, for a worker or a web process.

Commits, trees and blobs never change, so what one promotion or dry run learnt about them
(parsed trees, similarity fingerprints, commit positions and generation numbers) stays true for
the next: a `GitContext` keeps them as long as the process lives. Only the commit-graph can
change under it (a new layer after a fetch or a promotion, a fold by housekeeping); each use
checks its files (a couple of `stat` calls) and reloads the history when they changed, keeping
the object caches.

A context has its own open `Repo`: callers pass commit ids, never their own repository object,
and hold `lock` while they use it (dulwich's pack readers are not thread-safe; the web server
may run requests in threads).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from branching.git.graph import graph_files, load_commit_graph
from branching.git.history import History
from branching.git.merge import Merger
from branching.git.storage import Repo, open_repo

__all__ = ["GitContext"]


class GitContext:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.lock = threading.RLock()
        self._repo: Repo | None = None
        self._merger: Merger | None = None
        self._key: tuple[object, ...] | None = None

    def _refresh(self) -> Merger:
        if self._repo is None:
            self._repo = open_repo(self.path)
        store = self._repo.object_store
        key = graph_files(store.path)
        if self._merger is None or key != self._key:
            history = History(store, load_commit_graph(store.path))
            if self._merger is None:
                self._merger = Merger(store, history)
            else:
                self._merger.history = history
            self._key = key
        return self._merger

    @property
    def merger(self) -> Merger:
        """The merger, its caches warm from earlier merges (hold `lock`)."""
        return self._refresh()

    @property
    def history(self) -> History:
        """Ancestry questions, answered from the commit-graph and what was learnt (hold `lock`)."""
        return self._refresh().history

    @property
    def repo(self) -> Repo:
        self._refresh()
        assert self._repo is not None
        return self._repo

    def close(self) -> None:
        with self.lock:
            if self._merger is not None:
                self._merger.objects.close()
            if self._repo is not None:
                self._repo.close()
            self._repo = self._merger = None
            self._key = None
