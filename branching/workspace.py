"""A Repository's git storage as the rest of the code sees it: open, sync, publish.

Without a remote, the local bare repository *is* the storage and branch moves are local
compare-and-swaps. With one, the remote is the source of truth: `sync` fetches before work,
`publish` pushes first (the remote's ref update is the compare-and-swap) and only then moves
the local cache, and a refused push surfaces as `RemoteMoved`: retry from the fetch.
"""

from __future__ import annotations

from django.conf import settings

from branching.git import storage
from branching.git.remote import Remote, RemoteMoved, clone, fetch, push
from branching.git.storage import IdLike, ObjectId, Repo
from branching.models import Repository

__all__ = ["RemoteMoved", "clone_url", "open_storage", "publish", "remote_of", "sync"]


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
    )


def open_storage(repository: Repository) -> Repo:
    """The local bare repository: the storage itself, or the remote's cache (cloned if new)."""
    remote = remote_of(repository)
    path = repository.local_path
    if remote is None:
        return storage.init_bare(path, default_branch=repository.main_branch)
    if not (path / "HEAD").exists():
        return clone(path, remote)
    return storage.open_repo(path)


def sync(repository: Repository, repo: Repo) -> None:
    """Fetch from the remote, when there is one, so local heads are the remote's."""
    remote = remote_of(repository)
    if remote is not None:
        fetch(repo, remote)


def publish(
    repository: Repository, repo: Repo, branch: str, new: IdLike, expected_old: IdLike | None
) -> ObjectId:
    """Move `branch` from `expected_old` to `new`, on the remote first when there is one."""
    remote = remote_of(repository)
    if remote is not None:
        push(repo, remote, branch, new, expected_old)
        current = storage.branch_head(repo, branch)
        return storage.update_branch(repo, branch, new, current)
    return storage.update_branch(repo, branch, new, expected_old)


def clone_url(repository: Repository) -> str:
    """What `git clone` accepts for this repository: the remote URL, or the local path."""
    return repository.remote_url or str(repository.local_path)
