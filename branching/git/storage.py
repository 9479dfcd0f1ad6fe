"""The small git layer every other part of releasemgr goes through: bare repositories on dulwich.

No git binary, no subprocess, no working tree, no `os.chdir`, no module-level state: every
function takes the repository (a dulwich `Repo`) and plain values, so two workers can use the
same storage at once and a test can point it at a temporary directory.

Conventions
- Object ids (commits, trees, blobs) are **returned as 40-character lowercase hex bytes**, which
  is dulwich's own `ObjectID`, so they pass straight on to dulwich. Every function also *accepts*
  an id as `str` (the way the database stores them); `hex_id()` gives the `str` form back.
- Branch names are `str` without `refs/heads/` ("main", "release/2027-q1"), checked with git's
  rules (`branching.refnames`); a bad name raises `ValueError` with the reason a user can read.
- Paths inside a tree are `str`, relative, "/"-separated ("force-app/main/default/classes/A.cls").
- A `Repo` holds open pack files: use it as a context manager (`with open_repo(path) as repo:`).

No reflog is written (git's default for bare repositories): who moved which branch from which
commit to which is recorded in the database's audit trail, and a reflog left behind by a
deleted `dev/alice` would stop a later `dev` from being created.

Every branch move is a compare-and-swap against the head the caller saw (docs/design.md,
invariant 3): `update_branch` raises `RefMoved` instead of overwriting a head that moved, and
waits out another writer's lock instead of failing, so no update is ever lost or silently
dropped.

This module opens and creates repositories and answers the two history questions; the rest is
re-exported from where it lives: ids and paths (`ids`), the object writer (`writer`), reading
trees (`trees`), branches (`branches`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from dulwich.errors import NotGitRepository
from dulwich.repo import Repo

from branching.git.branches import (
    BranchExists,
    BranchNameClash,
    BranchNotFound,
    RefError,
    RefLocked,
    RefMoved,
    branch_head,
    branch_heads,
    branch_heads_named,
    branch_ref,
    check_path_clash,
    create_branch,
    delete_branch,
    list_branches,
    pack_refs,
    update_branch,
)
from branching.git.history import History
from branching.git.ids import IdLike, ObjectId, commit_of, hex_id, object_id
from branching.git.trees import list_paths, path_mode, read_blob
from branching.git.writer import (
    DEFAULT_COMMITTER,
    EXECUTABLE,
    REGULAR,
    SYMLINK,
    BlobRef,
    Change,
    FileContent,
    commit_changes,
    commit_files,
    update_tree,
    write_tree,
)

__all__ = [
    "DEFAULT_COMMITTER",
    "EXECUTABLE",
    "REGULAR",
    "BlobRef",
    "BranchExists",
    "BranchNameClash",
    "BranchNotFound",
    "Change",
    "FileContent",
    "IdLike",
    "ObjectId",
    "RefError",
    "RefLocked",
    "RefMoved",
    "Repo",
    "SYMLINK",
    "ahead_behind",
    "branch_head",
    "branch_heads",
    "branch_heads_named",
    "check_path_clash",
    "commit_changes",
    "commit_files",
    "create_branch",
    "delete_branch",
    "hex_id",
    "init_bare",
    "is_ancestor",
    "list_branches",
    "list_paths",
    "object_id",
    "open_repo",
    "pack_refs",
    "path_mode",
    "read_blob",
    "update_branch",
    "update_tree",
    "write_tree",
]

_HEADS = b"refs/heads/"


# --------------------------------------------------------------------------- repositories


def open_repo(path: str | os.PathLike[str]) -> Repo:
    """Open an existing repository; raises dulwich's `NotGitRepository` when there is none."""
    return Repo(os.fspath(path))


def init_bare(path: str | os.PathLike[str], default_branch: str = "main") -> Repo:
    """Open the bare repository at `path`, creating it first when there is none.

    Safe to call from several processes at once: the repository is initialised in a sibling
    temporary directory and renamed into place, so nobody ever opens a half-made one.
    """
    target = Path(path)
    try:
        return open_repo(target)
    except NotGitRepository:
        if target.exists() and any(target.iterdir()):
            raise ValueError(f"{target} exists and is not a git repository.") from None
    head = branch_ref(default_branch)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        Repo.init_bare(scratch, default_branch=head[len(_HEADS) :]).close()
        try:
            os.rename(scratch, target)
        except OSError:
            if not target.exists():
                raise
            # Another process created it first; theirs is as good as ours.
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
    return open_repo(target)


# --------------------------------------------------------------------------- history


def is_ancestor(
    repo: Repo, ancestor: IdLike, descendant: IdLike, *, history: History | None = None
) -> bool:
    """Whether `ancestor` is `descendant` or one of its ancestors ("is this commit in that branch").

    Generation numbers (`branching.git.history`) bound the walk to the commits between the two,
    so asking about a recent commit on a 10,000-commit branch reads only the recent part. Pass a
    long-lived `history` to answer from what earlier questions learnt.
    """
    target = commit_of(repo, ancestor).id
    start = commit_of(repo, descendant).id
    return (history or History.open(repo)).is_ancestor(target, start)


def ahead_behind(
    repo: Repo, a: IdLike, b: IdLike, *, history: History | None = None
) -> tuple[int, int]:
    """(commits in `a` not in `b`, commits in `b` not in `a`), like `git rev-list --count a...b`.

    One walk from both ends in topological order, stopping once everything still queued is
    reachable from both: the cost is the distance to the merge base, not the history.
    """
    left = commit_of(repo, a).id
    right = commit_of(repo, b).id
    return (history or History.open(repo)).ahead_behind(left, right)
