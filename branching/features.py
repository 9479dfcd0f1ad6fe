"""Starting features: cutting (or attaching) a feature branch from the main branch."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from branching import workspace
from branching.git import storage
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
) -> Feature:
    """Create the feature and its branch, cut from the head of the repository's main branch.

    With `attach`, `branch` must already exist and is adopted as the feature branch instead.
    The branch is made before the row; should the row then fail, the new branch is removed.
    """
    branch = branch or feature_branch_name(key, title)
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


def _merge_base(repo: storage.Repo, a: bytes, b: bytes) -> bytes:
    from branching.git.merge import merge_base

    bases = merge_base(repo, a, b)
    return bases[0] if bases else a


def _remove_branch(repository: Repository, repo: storage.Repo, branch: str, head: bytes) -> None:
    if workspace.remote_of(repository) is None:
        storage.delete_branch(repo, branch, expected=head)
