"""Helpers for the tests of the commands: run one, read its refusal, look at branches.

Promotions queued by these tests are not handed to a task cluster (the test's transaction
never commits); where a test needs one to run, it runs the engine itself.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from branching.features import start_feature
from branching.git import storage
from branching.models import Feature
from instances.management.commands import promote as promote_command
from instances.models import Promotion, PromotionStatus
from instances.promotions import engine

INVOICE = "force-app/main/default/classes/Invoice.cls"


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def refused(*args: str, code: int = 2) -> str:
    """The command's message for a refusal, which must be a CommandError (never a traceback)."""
    with pytest.raises(CommandError) as caught:
        run(*args)
    assert caught.value.returncode == code, str(caught.value)
    return str(caught.value)


def head(instance) -> str:
    with storage.open_repo(instance.repository.local_path) as repo:
        return storage.hex_id(storage.branch_head(repo, instance.branch))


def contains(instance, commit: str) -> bool:
    with storage.open_repo(instance.repository.local_path) as repo:
        return storage.is_ancestor(repo, commit, storage.branch_head(repo, instance.branch))


def commit_to(feature: Feature, changes: dict[str, bytes]) -> str:
    with storage.open_repo(feature.repository.local_path) as repo:
        old = storage.branch_head(repo, feature.branch)
        new = storage.commit_changes(
            repo, parent=old, changes=changes, message="work", author="Dev <dev@example.com>"
        )
        storage.update_branch(repo, feature.branch, new, old)
        return storage.hex_id(new)


def feature_in(pipeline, key: str, instance: str, owner, changes: dict[str, bytes]) -> Feature:
    feature = start_feature(
        pipeline["repo"], key=key, title=key, owner=owner, started_from_id=pipeline[instance].pk
    )
    commit_to(feature, changes)
    promotion = Promotion.objects.get(pk=queued(key, pipeline[instance].name, owner))
    engine.run_promotion(promotion.pk, "test-worker")
    promotion.refresh_from_db()
    assert promotion.status == PromotionStatus.SUCCEEDED, promotion.failure_reason
    return feature


def queued(keys: str, target: str, user) -> int:
    out = run("promote", *keys.split(), "--to", target, "--as", user.username)
    return int(out.split()[1].removeprefix("#"))


def wait_with_worker(monkeypatch: pytest.MonkeyPatch, act=None) -> None:
    """Stand in for the task cluster: each time `promote --wait` sleeps, a worker acts."""

    def sleep(seconds: float) -> None:
        for promotion in Promotion.objects.filter(status=PromotionStatus.QUEUED):
            engine.run_promotion(promotion.pk, "test-worker")
        if act is not None:
            act()

    monkeypatch.setattr(promote_command, "sleep", sleep)
