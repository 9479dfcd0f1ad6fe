"""A Repository's git storage as the rest of the code sees it: open, sync, publish.

Without a remote, the local bare repository *is* the storage and branch moves are local
compare-and-swaps. With one, the remote is the source of truth: `sync` fetches before work,
`publish` pushes first (the remote's ref update is the compare-and-swap) and only then moves
the local cache, and a refused push surfaces as `RemoteMoved`: retry from the fetch.

The commit-graph is kept current here: after every fetch (`sync`), branch move (`publish`) and
first clone, the new commits are added as a small layer (`branching.git.history`), so history
questions never fall back to reading the whole history.

`context(repository)` is the process's long-lived `GitContext` for the storage: merges, dry
runs and ancestry questions go through it so that their caches stay warm from one promotion to
the next, in the worker and in the web process alike.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings
from django.utils.text import slugify

from branching.git import storage
from branching.git.context import GitContext
from branching.git.graph import graph_files
from branching.git.history import update_commit_graph
from branching.git.remote import Remote, RemoteMoved, clone, fetch, push
from branching.git.storage import IdLike, ObjectId, Repo
from branching.git.transport import display_url
from branching.models import Repository, remote_policy

__all__ = [
    "RemoteMoved",
    "clone_url",
    "context",
    "open_storage",
    "publish",
    "remote_of",
    "server_path",
    "sync",
    "update_graph",
]

# One GitContext per storage path and process: caches only (content-addressed, never stale),
# so sharing them between requests and tasks is safe and is the point.
_contexts: dict[Path, GitContext] = {}
_contexts_lock = threading.Lock()


def remote_of(repository: Repository) -> Remote | None:
    if not repository.remote_url:
        return None
    return Remote(
        repository.remote_url,
        ssh_key_file=settings.GIT_SSH_KEY_FILE,
        known_hosts_file=settings.GIT_SSH_KNOWN_HOSTS,
        ca_bundle=settings.GIT_CA_BUNDLE,
        username=repository.remote_username,
        password=repository.remote_secret.reveal() if repository.remote_secret else "",  # type: ignore[attr-defined]
        policy=remote_policy(),
    )


def open_storage(repository: Repository) -> Repo:
    """The local bare repository: the storage itself, or the remote's cache (cloned if new)."""
    remote = remote_of(repository)
    path = repository.local_path
    if remote is None:
        repo = storage.init_bare(path, default_branch=repository.main_branch)
    elif not (path / "HEAD").exists():
        repo = clone(path, remote)
        update_graph(repo, storage.branch_heads(repo).values())
        return repo
    else:
        repo = storage.open_repo(path)
    if not graph_files(repo.object_store.path):
        # A storage made before commit-graphs, or by hand: start the graph from the main
        # branch (one ref lookup, no listing); other commits join it with the next fetch or
        # branch move, and housekeeping folds in every branch.
        head = storage.branch_head(repo, repository.main_branch)
        if head is not None:
            update_graph(repo, [head])
    return repo


def sync(repository: Repository, repo: Repo) -> None:
    """Fetch from the remote, when there is one, so local heads are the remote's."""
    remote = remote_of(repository)
    if remote is not None:
        heads = fetch(repo, remote)
        update_graph(repo, heads.values())


def update_graph(repo: Repo, heads: Iterable[IdLike]) -> int:
    """Add the commits reachable from `heads` that the commit-graph lacks (see history.py)."""
    ids = [storage.object_id(head) for head in heads]
    return update_commit_graph(repo, ids) if ids else 0


def context(repository: Repository) -> GitContext:
    """The process's long-lived git context for the repository's storage (hold its lock)."""
    path = repository.local_path
    with _contexts_lock:
        found = _contexts.get(path)
        if found is None:
            found = _contexts[path] = GitContext(path)
        return found


def publish(
    repository: Repository, repo: Repo, branch: str, new: IdLike, expected_old: IdLike | None
) -> ObjectId:
    """Move `branch` from `expected_old` to `new`, on the remote first when there is one."""
    remote = remote_of(repository)
    if remote is not None:
        if expected_old is None:  # the cache mirrors the remote: a clash there is one here
            storage.check_path_clash(repo, branch)
        push(repo, remote, branch, new, expected_old)
        current = storage.branch_head(repo, branch)
        moved = storage.update_branch(repo, branch, new, current)
    else:
        moved = storage.update_branch(repo, branch, new, expected_old)
    update_graph(repo, [moved])
    return moved


def clone_url(repository: Repository) -> str:
    """What `git clone` accepts for this repository: the remote URL (never with credentials
    in it), or releasemgr's own git service for a local storage (`/git/<storage>.git`, HTTP
    Basic with an access token)."""
    if repository.remote_url:
        return display_url(repository.remote_url)
    return f"{settings.SITE_URL}/git/{repository.storage or slugify(repository.name)}.git"


def server_path(repository: Repository) -> str:
    """The bare repository's path on the server, for admins and commands run there."""
    return str(repository.local_path)
