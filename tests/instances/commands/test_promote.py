"""`manage.py promote`: queue a promotion, say why it waits, wait for it, refuse bad ones."""

from __future__ import annotations

import pytest

from branching.features import start_feature
from instances.management.commands import promote as promote_command
from instances.models import Promotion, PromotionStatus
from instances.promotions import engine
from instances.promotions.rules import reject
from tests.instances.commands.cli import (
    INVOICE,
    feature_in,
    head,
    queued,
    refused,
    run,
    wait_with_worker,
)

pytestmark = pytest.mark.django_db


def test_it_queues_a_promotion_and_says_why_it_waits(git_pipeline, developer) -> None:
    start_feature(
        git_pipeline["repo"],
        key="RM-1",
        title="One",
        owner=developer,
        started_from_id=git_pipeline["alice"].pk,
    )
    first = run("promote", "RM-1", "--to", "Dev Alice", "--as", "dan-dev")
    promotion = Promotion.objects.get()
    assert first.splitlines() == [
        f"Promotion #{promotion.pk} (enter the pipeline): RM-1 into Dev Alice, queued.",
        "Waiting for a worker to pick it up.",
    ]
    assert promotion.requested_by == developer and promotion.direction == "enter"
    second = run("promote", "RM-1", "--to", "Dev Alice", "--as", "dan-dev")
    assert f"Waiting behind promotion #{promotion.pk} to Dev Alice (queued)." in second


def test_it_refuses_bad_promotions_with_a_message(git_pipeline, personas) -> None:
    developer = personas["developer"]
    feature_in(git_pipeline, "RM-1", "alice", developer, {"force-app/one.txt": b"1\n"})
    before = Promotion.objects.count()
    assert "oscar-outsider may not request promotions" in refused(
        "promote", "RM-1", "--to", "Integration", "--as", "oscar-outsider"
    )
    assert "There is no feature RM-404, RM-405." in refused(
        "promote", "RM-1", "RM-404", "RM-405", "--to", "Integration", "--as", "dan-dev"
    )
    assert "There is no instance “Staging”" in refused(
        "promote", "RM-1", "--to", "Staging", "--as", "dan-dev"
    )
    assert "There is no user “ghost”" in refused("promote", "RM-1", "--to", "QA", "--as", "ghost")
    unreachable = refused("promote", "RM-1", "--to", "QA", "--as", "dan-dev")
    assert "RM-1 is not in Integration or its parent UAT" in unreachable
    assert "RM-1 is already in Dev Alice" not in unreachable
    assert "RM-1 is not in" in refused("promote", "RM-1", "--to", "Dev Bob", "--as", "dan-dev")
    assert Promotion.objects.count() == before


def test_it_waits_and_prints_each_log_line(git_pipeline, developer, monkeypatch) -> None:
    feature_in(git_pipeline, "RM-1", "alice", developer, {"force-app/one.txt": b"1\n"})
    wait_with_worker(monkeypatch)
    out = run("promote", "RM-1", "--to", "Integration", "--as", "dan-dev", "--wait")
    promotion = Promotion.objects.latest("pk")
    lines = out.splitlines()
    assert lines[0] == f"Promotion #{promotion.pk} (promote): RM-1 into Integration, queued."
    messages = [line.split(" ", 1)[1] for line in lines[2:-1]]
    assert messages == list(promotion.log.values_list("message", flat=True))
    assert any(m.startswith("Moved integration from") for m in messages)
    assert lines[-1] == f"Promotion #{promotion.pk} succeeded."


def test_it_fails_the_wait_naming_the_conflicted_paths(
    git_pipeline, developer, monkeypatch
) -> None:
    p = git_pipeline
    feature_in(p, "RM-1", "alice", developer, {INVOICE: b"public class Invoice {\n  A a;\n}\n"})
    run_to = queued("RM-1", "Integration", developer)
    engine.run_promotion(run_to, "test-worker")
    feature_in(p, "RM-2", "bob", developer, {INVOICE: b"public class Invoice {\n  B b;\n}\n"})
    before = head(p["integration"])
    wait_with_worker(monkeypatch)
    message = refused("promote", "RM-2", "--to", "Integration", "--as", "dan-dev", "--wait", code=1)
    assert "is conflicted" in message and f"\n  {INVOICE}\n" in message
    assert Promotion.objects.latest("pk").status == PromotionStatus.CONFLICTED
    assert head(p["integration"]) == before


def test_it_fails_the_wait_on_a_rejection(git_pipeline, personas, monkeypatch) -> None:
    developer, manager = personas["developer"], personas["release_manager"]
    git_pipeline["integration"].requires_approval = True
    git_pipeline["integration"].save()
    feature_in(git_pipeline, "RM-1", "alice", developer, {"force-app/one.txt": b"1\n"})
    wait_with_worker(
        monkeypatch,
        act=lambda: reject(Promotion.objects.latest("pk"), manager, "Not this sprint"),
    )
    message = refused("promote", "RM-1", "--to", "Integration", "--as", "dan-dev", "--wait", code=1)
    assert message.endswith("rejected: Rejected by rita-rm: Not this sprint")


def test_it_gives_up_waiting_after_the_timeout(git_pipeline, developer, monkeypatch) -> None:
    start_feature(
        git_pipeline["repo"],
        key="RM-1",
        title="One",
        owner=developer,
        started_from_id=git_pipeline["alice"].pk,
    )
    monkeypatch.setattr(promote_command, "POLL_SECONDS", 0.05)
    message = refused(
        "promote",
        "RM-1",
        "--to",
        "Dev Alice",
        "--wait",
        "--timeout",
        "0.2",
        "--as",
        "dan-dev",
        code=3,
    )
    assert message.endswith(
        "is still queued after 0.2 s. Waiting for a worker to pick it up. (Is the task "
        "cluster, `manage.py qcluster`, running?)"
    )
    assert Promotion.objects.get().status == PromotionStatus.QUEUED
