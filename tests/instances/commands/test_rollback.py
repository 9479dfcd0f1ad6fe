"""`manage.py rollback`: what it cannot undo without --acknowledge, queueing, waiting, refusals."""

from __future__ import annotations

import pytest

from branching.git import storage
from instances.models import Direction, Promotion, PromotionStatus
from tests.instances.commands.cli import head, refused, run, wait_with_worker
from tests.instances.promotions.helpers import INVOICE, TAX, promote_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def promoted(git_pipeline, developer) -> Promotion:
    return promote_invoice(git_pipeline, developer)[1]


def rollbacks() -> int:
    return Promotion.objects.filter(direction=Direction.ROLLBACK).count()


def test_without_acknowledge_it_lists_what_it_cannot_undo_and_refuses(promoted, release_manager):
    message = refused("rollback", str(promoted.pk), "--as", "rita-rm")
    assert f"Rolling back promotion #{promoted.pk} cannot undo:" in message
    assert "- Records changed since:" in message
    assert message.endswith("Run again with --acknowledge to roll it back.")
    assert rollbacks() == 0


def test_it_queues_the_rollback_and_says_why_it_waits(promoted, release_manager):
    out = run("rollback", str(promoted.pk), "--as", "rita-rm", "--acknowledge")
    rollback = Promotion.objects.get(direction=Direction.ROLLBACK)
    assert out.splitlines() == [
        f"Promotion #{rollback.pk} (roll back): promotion #{promoted.pk} (RM-1) in Integration, "
        "queued.",
        "Waiting for a worker to pick it up.",
    ]
    assert rollback.rollback_of == promoted and rollback.requested_by == release_manager


def test_it_waits_and_exits_0_once_rolled_back(
    git_pipeline, promoted, release_manager, monkeypatch
):
    wait_with_worker(monkeypatch)
    out = run("rollback", f"#{promoted.pk}", "--as", "rita-rm", "--acknowledge", "--wait")
    rollback = Promotion.objects.get(direction=Direction.ROLLBACK)
    assert rollback.status == PromotionStatus.SUCCEEDED
    assert out.splitlines()[-1] == f"Promotion #{rollback.pk} succeeded."
    assert f"Reverted the merges of promotion #{promoted.pk}." in out
    assert head(git_pipeline["integration"]) == rollback.target_head_after
    with storage.open_repo(git_pipeline["repo"].local_path) as repo:
        assert storage.read_blob(repo, rollback.target_head_after, TAX) is None


def test_it_refuses_bad_input_and_changes_nothing(promoted, personas):
    for args, words in (
        (("rollback", str(promoted.pk), "--as", "dan-dev", "--acknowledge"), "Only a release"),
        (("rollback", str(promoted.pk), "--as", "ghost", "--acknowledge"), "no user “ghost”"),
        (("rollback", "999999", "--as", "rita-rm", "--acknowledge"), "no promotion #999999"),
        (("rollback", "seven", "--as", "rita-rm", "--acknowledge"), "is not a promotion number"),
    ):
        assert words in refused(*args)
    run("rollback", str(promoted.pk), "--as", "rita-rm", "--acknowledge")
    rollback = Promotion.objects.get(direction=Direction.ROLLBACK)
    again = refused("rollback", str(promoted.pk), "--as", "rita-rm", "--acknowledge")
    assert f"is rolling back by #{rollback.pk}" in again
    assert "is a rollback" in refused(
        "rollback", str(rollback.pk), "--as", "rita-rm", "--acknowledge"
    )
    assert rollbacks() == 1


def test_a_conflicted_rollback_exits_1(git_pipeline, promoted, release_manager, monkeypatch):
    """Integration's branch moved on and changed the same line since: the revert conflicts."""
    integration = git_pipeline["integration"]
    with storage.open_repo(integration.repository.local_path) as repo:
        old = storage.branch_head(repo, integration.branch)
        new = storage.commit_changes(
            repo,
            parent=old,
            changes={INVOICE: b"public class Invoice {\n  Decimal total; // later\n}\n"},
            message="hotfix",
            author="Ops <ops@example.com>",
        )
        storage.update_branch(repo, integration.branch, new, old)
    wait_with_worker(monkeypatch)
    message = refused(
        "rollback", str(promoted.pk), "--as", "rita-rm", "--acknowledge", "--wait", code=1
    )
    assert "is conflicted" in message and f"\n  {INVOICE}\n" in message
    assert head(integration) == storage.hex_id(new)
