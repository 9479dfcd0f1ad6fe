"""Starting features: cutting (or attaching) a feature branch from the main branch."""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from branching import workspace
from branching.git import storage
from branching.git.remote import LOCAL_ONLY_PREFIX
from branching.models import Feature, Repository, feature_branch_name


class FeatureError(ValidationError):
    """A feature cannot be started as asked; the message says why, for a form or the CLI."""


def start_feature(
    repository: Repository,
    *,
    key: str,
    title: str,
    owner: User,
    started_from_id: int | None = None,
    branch: str = "",
    attach: bool = False,
    reserved: Mapping[str, str] | None = None,
) -> Feature:
    """Create the feature and its branch, cut from the head of the repository's main branch.

    With `attach`, `branch` must already exist and is adopted as the feature branch instead.
    The branch is made before the row; should the row then fail, the new branch is removed.
    A feature branch is never an environment's: not the main branch of any Repository on this
    storage, not a `releasemgr/` work branch, and not a branch in `reserved` (branch → why:
    the instances' branches, which this app does not know).
    """
    branch = branch or feature_branch_name(key, title)
    refusal = reserved_branch_problem(repository, branch, reserved or {})
    if refusal:
        raise FeatureError(refusal)
    feature = Feature(
        repository=repository,
        key=key,
        title=title,
        owner=owner,
        branch=branch,
        started_from_id=started_from_id,
    )
    try:
        feature.full_clean()
    except ValidationError as exc:
        raise FeatureError(exc.messages) from None
    with workspace.open_storage(repository) as repo:
        workspace.sync(repository, repo)
        main_head = storage.branch_head(repo, repository.main_branch)
        if main_head is None:
            raise FeatureError(
                f"The main branch “{repository.main_branch}” does not exist in "
                f"{repository.location}."
            )
        existing = storage.branch_head(repo, branch)
        created = False
        if attach:
            if existing is None:
                raise FeatureError(f"There is no branch “{branch}” to attach.")
            feature.base_commit = storage.hex_id(_merge_base(repo, main_head, existing))
        else:
            if existing is not None:
                raise FeatureError(
                    f"The branch “{branch}” already exists; attach it instead, or pick another key."
                )
            try:
                workspace.publish(repository, repo, branch, main_head, expected_old=None)
            except (storage.RefError, workspace.RemoteMoved) as exc:
                raise FeatureError(f"Could not create “{branch}”: {exc}") from None
            created = True
            feature.base_commit = storage.hex_id(main_head)
        try:
            with transaction.atomic():
                feature.save()
        except IntegrityError:
            if created:
                _remove_branch(repository, repo, branch, main_head)
            raise FeatureError(f"A feature with key {key} or branch “{branch}” exists.") from None
    return feature


def reserved_branch_problem(
    repository: Repository, branch: str, reserved: Mapping[str, str]
) -> str | None:
    """Why `branch` cannot be a feature branch of `repository`, or None.

    Promotions merge feature branches only (docs/design.md, invariant 2): promoting an
    environment branch as a feature would drag along everything not yet promoted from it.
    """
    if branch.startswith(LOCAL_ONLY_PREFIX):
        return f"Branches under “{LOCAL_ONLY_PREFIX}” are releasemgr's own work branches."
    if branch in reserved:
        return (
            f"“{branch}” is {reserved[branch]}, not a feature branch: promotions merge "
            "feature branches only."
        )
    mains = Repository.objects.filter(storage_key=repository.storage_key, main_branch=branch)
    if owner := mains.order_by("name").first():
        return (
            f"“{branch}” is the main branch of {owner.name}, not a feature branch: promotions "
            "merge feature branches only."
        )
    return None


def _merge_base(repo: storage.Repo, a: bytes, b: bytes) -> bytes:
    from branching.git.merge import merge_base

    bases = merge_base(repo, a, b)
    return bases[0] if bases else a


def _remove_branch(repository: Repository, repo: storage.Repo, branch: str, head: bytes) -> None:
    if workspace.remote_of(repository) is None:
        storage.delete_branch(repo, branch, expected=head)


# A feature longer than this is still timed from the oldest of its newest commits: lead time is
# a measure, and a bounded walk keeps requesting a promotion cheap however long the branch is.
FIRST_COMMIT_WALK_LIMIT = 5000


def first_commit_time(repo: storage.Repo, base: str, head: str) -> datetime.datetime | None:
    """When the feature's own work began: the oldest author time of `base..head`.

    None when the feature has no commit of its own yet (its branch is where it was cut).
    """
    if not head or head == base:
        return None
    exclude = [storage.ObjectId(storage.hex_id(base).encode())] if base else []
    try:
        walker = repo.get_walker(
            include=[storage.ObjectId(storage.hex_id(head).encode())],
            exclude=exclude,
            max_entries=FIRST_COMMIT_WALK_LIMIT,
        )
        oldest = min((entry.commit.author_time for entry in walker), default=None)
    except KeyError:  # a commit the storage does not have: nothing to time
        return None
    if oldest is None:
        return None
    return datetime.datetime.fromtimestamp(oldest, tz=datetime.UTC)
