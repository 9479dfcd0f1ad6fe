"""Branches: reading heads by name, and creating, moving and deleting them by compare-and-swap.

Every branch move is a compare-and-swap against the head the caller saw (docs/design.md,
invariant 3): `update_branch` raises `RefMoved` instead of overwriting a head that moved, and
waits out another writer's lock instead of failing, so no update is ever lost or silently
dropped. The files themselves are read and written one name at a time by `branching.git.refs`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from functools import partial

from dulwich.refs import Ref
from dulwich.repo import Repo

from branching.git import refs
from branching.git.ids import IdLike, ObjectId, commit_of, object_id, short
from branching.git.locks import retry_locked
from branching.refnames import branch_name_problem

_HEADS = b"refs/heads/"
_HEADS_BASE = Ref(b"refs/heads")


class RefError(Exception):
    """A branch could not be changed as asked; the message says why in plain words."""


class RefMoved(RefError):
    """The branch is not where the caller last saw it: someone else moved it first.

    The caller re-reads the branch and decides again (a promotion retries from its check step);
    overwriting would lose the other writer's update.
    """

    def __init__(self, branch: str, expected: ObjectId | None, actual: ObjectId | None) -> None:
        self.branch = branch
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"Branch “{branch}” moved: expected {short(expected)}, found {short(actual)}."
        )


class BranchExists(RefError):
    def __init__(self, branch: str, head: ObjectId | None = None) -> None:
        self.branch = branch
        self.head = head
        super().__init__(f"Branch “{branch}” already exists.")


class BranchNameClash(RefError, ValueError):
    """git keeps `feature` as a file and `feature/x` inside a folder of that name: one name
    cannot be both a branch and a folder of branches, so the new branch cannot be created."""

    def __init__(self, branch: str, existing: str) -> None:
        self.branch = branch
        self.existing = existing
        if existing.startswith(branch + "/"):
            why = f"Branches named “{branch}/…” exist (such as “{existing}”)"
        else:
            why = f"Branch “{existing}” exists"
        super().__init__(
            f"{why}, so “{branch}” cannot be created (git cannot have a branch and a folder of "
            "branches with the same name); pick another name."
        )


class BranchNotFound(RefError, LookupError):
    def __init__(self, branch: str) -> None:
        self.branch = branch
        super().__init__(f"Branch “{branch}” does not exist.")


class RefLocked(RefError):
    """Another writer held the branch's lock file for too long (or crashed and left it)."""

    def __init__(self, branch: str, lock_path: str) -> None:
        self.branch = branch
        self.lock_path = lock_path
        super().__init__(
            f"Branch “{branch}” is locked by another writer ({lock_path}). If no releasemgr "
            "worker or git process is running, remove that file and retry."
        )


def branch_ref(branch: str) -> Ref:
    """`refs/heads/<branch>`, once the name passes git's rules (ValueError with the reason)."""
    problem = branch_name_problem(branch)
    if problem:
        raise ValueError(problem)
    return Ref(_HEADS + branch.encode())


def _locked_error(repo: Repo, branch: str) -> Callable[[], Exception]:
    lock = os.path.join(repo.controldir(), "refs", "heads", *branch.split("/")) + ".lock"
    return lambda: RefLocked(branch, lock)


def branch_head(repo: Repo, branch: str) -> ObjectId | None:
    """The commit the branch points at, or None when there is no such branch.

    One lookup: the loose ref file, else the branch's line in packed-refs (`branching.git.refs`).
    """
    return refs.read_ref(repo.controldir(), branch_ref(branch))


def branch_heads_named(repo: Repo, names: Iterable[str]) -> dict[str, ObjectId | None]:
    """The heads of just these branches (None for a missing one): one lookup each."""
    controldir = repo.controldir()
    return {name: refs.read_ref(controldir, branch_ref(name)) for name in names}


def branch_heads(repo: Repo) -> dict[str, ObjectId]:
    """Every branch and its head, by name. Lists all refs: for a fetch's comparison with the
    remote and for housekeeping, never for a page or a promotion step (use `branch_head` or
    `branch_heads_named`)."""
    heads = repo.refs.as_dict(_HEADS_BASE)
    return {name.decode(): heads[name] for name in sorted(heads)}


def list_branches(repo: Repo) -> list[str]:
    """The branch names, sorted. Lists all refs, like `branch_heads`."""
    return sorted(name.decode() for name in repo.refs.keys(base=_HEADS_BASE))


def check_path_clash(repo: Repo, branch: str) -> None:
    """git stores `dev` and `dev/alice` as a file and a folder: they cannot both exist.

    Looks only at the name's own path (its prefixes and its folder), so it costs the same with
    ten branches or ten thousand.
    """
    found = refs.clash(repo.controldir(), branch_ref(branch))
    if found is not None:
        raise BranchNameClash(branch, found[len(_HEADS) :].decode())


def create_branch(repo: Repo, name: str, at: IdLike) -> ObjectId:
    """Create a branch at commit `at`; raises BranchExists rather than move an existing one,
    BranchNameClash when an existing branch's name is a folder of this one or the other way."""
    ref = branch_ref(name)
    head = commit_of(repo, at).id
    existing = branch_head(repo, name)
    if existing is not None:
        raise BranchExists(name, existing)
    check_path_clash(repo, name)
    created = retry_locked(
        lambda: refs.create_ref(repo.controldir(), ref, head),
        _locked_error(repo, name),
    )
    if not created:
        raise BranchExists(name, branch_head(repo, name))
    return head


def update_branch(repo: Repo, name: str, new: IdLike, expected_old: IdLike | None) -> ObjectId:
    """Move a branch to `new` only if it is still at `expected_old` (None: must not exist yet).

    The compare happens under the branch's lock file, so of two writers that read the same head
    exactly one wins and the other gets RefMoved. A writer that finds the lock taken waits and
    tries again; it never skips its update.
    """
    ref = branch_ref(name)
    new_id = commit_of(repo, new).id
    controldir = repo.controldir()
    if expected_old is None:
        check_path_clash(repo, name)
        ok = retry_locked(
            lambda: refs.create_ref(controldir, ref, new_id),
            _locked_error(repo, name),
        )
        expected = None
    else:
        expected = object_id(expected_old)
        ok = retry_locked(
            lambda: refs.update_ref(controldir, ref, expected, new_id),
            _locked_error(repo, name),
        )
    if not ok:
        raise RefMoved(name, expected, branch_head(repo, name))
    return new_id


def delete_branch(repo: Repo, name: str, expected: IdLike | None = None) -> ObjectId:
    """Delete a branch, only if it is at `expected` when given; returns the head it had.

    Raises BranchNotFound when there is no such branch (and no `expected`), RefMoved when the
    branch is not at `expected`.
    """
    ref = branch_ref(name)
    wanted = object_id(expected) if expected is not None else None
    controldir = repo.controldir()
    while True:
        current = branch_head(repo, name)
        if current is None and wanted is None:
            raise BranchNotFound(name)
        old = wanted if wanted is not None else current
        assert old is not None
        ok = retry_locked(
            partial(refs.delete_ref, controldir, ref, old),
            _locked_error(repo, name),
        )
        if ok:
            return old
        if wanted is not None:
            raise RefMoved(name, wanted, branch_head(repo, name))
        # Unconditional delete, and the branch moved between our read and our lock: again.


def pack_refs(repo: Repo) -> int:
    """Move loose branch refs into packed-refs (housekeeping); returns how many moved."""
    return refs.pack_refs(repo.controldir())
