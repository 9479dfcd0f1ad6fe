"""The demo's story: weeks of real promotions, features at every stage, things to look at."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from branching.models import Collection, Feature
from instances.environments.live import pipeline_states
from instances.environments.presence import Presence, presence_rows, read_branch_heads
from instances.metrics.dora import Period, report
from instances.models import Direction, Instance, Promotion, PromotionLog, PromotionStatus
from instances.promotions import queue
from instances.promotions.queue import waiting_reason

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(demo_settings, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DEMO_PASSWORD", "demo-password")
    out = StringIO()
    call_command("seed_demo", "--if-empty", stdout=out)
    return out.getvalue()


def named(name: str) -> Instance:
    return Instance.objects.get(name=name)


def test_it_plays_weeks_of_promotions_through_the_engine(seeded):
    assert "12 features and 32 promotions through the engine" in seeded
    succeeded = Promotion.objects.filter(status=PromotionStatus.SUCCEEDED)
    assert succeeded.count() == 27
    times = sorted(succeeded.values_list("finished_at", flat=True))
    assert times[-1] - times[0] > timedelta(days=20)  # spread back over weeks
    assert all(t < timezone.now() for t in times)
    # Each went through the engine's steps: a log from request to success, with commits.
    for promotion in succeeded:
        log = list(PromotionLog.objects.filter(promotion=promotion).order_by("id"))
        if promotion.rollbacks.exists():  # the note of its rollback comes after its success
            assert "asked for rollback" in log.pop().message
        assert "requested" in log[0].message and log[-1].message.startswith("Succeeded")
        assert promotion.target_head_after and promotion.target_head_after != (
            promotion.target_head_before
        )
    assert {p.direction for p in succeeded} == set(Direction)  # enter, forward, back, rollback


def test_it_leaves_something_to_approve_to_resolve_and_to_run(seeded):
    waiting = Promotion.objects.get(status=PromotionStatus.AWAITING_APPROVAL)
    assert waiting.target == named("UAT")
    assert [i.feature.key for i in waiting.items.all()] == ["RM-107"]
    conflicted = Promotion.objects.get(status=PromotionStatus.CONFLICTED)
    assert conflicted.target == named("Integration")
    (conflict,) = conflicted.conflicts
    assert conflict["path"].endswith("classes/InvoiceDefaults.cls")
    assert "DUE_DAYS = 30" in str(conflict) and "DUE_DAYS = 45" in str(conflict)  # both sides
    queued = Promotion.objects.get(status=PromotionStatus.QUEUED, target=named("QA"))
    assert [i.feature.key for i in queued.items.all()] == ["RM-105"]
    # Held by a freeze: the queue says why, and the dispatcher leaves it there.
    held = Promotion.objects.get(status=PromotionStatus.QUEUED, target=named("Scratch CI"))
    assert held.direction == Direction.BACK and held.source == named("Integration")
    assert "recreated" in waiting_reason(held)
    assert queue.next_on(held.target_id) is None


def where(key: str) -> dict[str, Presence]:
    feature = Feature.objects.get(key=key)
    heads = read_branch_heads(feature.repository, [feature.branch]) or {}
    rows = presence_rows(feature, heads[feature.branch], feature.owner)
    return {row.instance.name: row.state for row in rows}


def test_it_has_features_at_every_stage(seeded):
    assert Feature.objects.count() == 12
    assert where("RM-101")["Production"] == Presence.PRESENT
    (rollback,) = Promotion.objects.filter(direction=Direction.ROLLBACK)
    assert rollback.target == named("UAT") and rollback.status == PromotionStatus.SUCCEEDED
    assert [i.feature.key for i in rollback.rollback_of.items.all()] == ["RM-103"]
    assert where("RM-103")["UAT"] == Presence.ABSENT  # rolled back once
    assert where("RM-103")["QA"] == Presence.PRESENT
    assert where("RM-103")["Production"] == Presence.ABSENT
    assert where("RM-106")["Dev Alice"] == Presence.STALE  # new commits since it got there
    assert set(where("RM-110").values()) == {Presence.ABSENT}  # just started
    states = pipeline_states(Instance.objects.values_list("pk", flat=True))
    assert states.of(named("Scratch CI").pk).back > 0  # back promotions pending
    assert states.of(named("Dev Alice").pk).ready_up > 0
    release = Collection.objects.get(name="Release 2026.12")
    assert sorted(release.features.values_list("key", flat=True)) == ["RM-103", "RM-104", "RM-107"]


def test_it_gives_the_metrics_page_something_to_draw(seeded):
    result = report(Instance.objects.all(), Period.last(30))
    production = result.total(result.production)
    assert production.deployments >= 1 and production.lead_time is not None
    assert any(m.stage_wait for m in result.instances)
    assert any(m.approval_wait for m in result.instances)


def test_the_dashboard_shows_what_needs_attention(seeded):
    client = Client()
    assert client.login(username="release-manager", password="demo-password")
    page = client.get("/").content.decode()
    waiting = Promotion.objects.get(status=PromotionStatus.AWAITING_APPROVAL)
    conflicted = Promotion.objects.get(status=PromotionStatus.CONFLICTED)
    assert f'href="/promotions/{waiting.pk}/"' in page
    assert f'href="/promotions/{conflicted.pk}/"' in page
    assert "Scratch CI" in page and "frozen" in page.lower()  # with its queue held


def test_a_second_run_changes_nothing(seeded):
    before = (Promotion.objects.count(), Feature.objects.count(), PromotionLog.objects.count())
    out = StringIO()
    call_command("seed_demo", "--if-empty", stdout=out)
    assert "nothing seeded" in out.getvalue()
    assert (Promotion.objects.count(), Feature.objects.count(), PromotionLog.objects.count()) == (
        before
    )
