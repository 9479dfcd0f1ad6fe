"""What may run next on a target: the claim, the dispatcher and the waiting text agree."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from instances.models import Direction, Promotion, PromotionStatus
from instances.promotions import engine, queue, tasks
from instances.promotions.queue import waiting_reason

pytestmark = pytest.mark.django_db


def make(target, user, status=PromotionStatus.QUEUED, **fields) -> Promotion:
    return Promotion.objects.create(
        target=target, direction=Direction.ENTER, requested_by=user, status=status, **fields
    )


@pytest.mark.parametrize(
    "lease",
    [None, timedelta(minutes=-1)],
    ids=["a running promotion without a lease", "a running promotion whose lease lapsed"],
)
def test_it_resumes_a_running_promotion_before_anything_queued(pipeline, developer, lease):
    alice = pipeline["alice"]
    lease_until = None if lease is None else timezone.now() + lease
    stalled = make(
        alice, developer, PromotionStatus.RUNNING, claimed_by="gone", lease_until=lease_until
    )
    waiting = make(alice, developer)

    assert queue.next_on(alice.pk) == stalled.pk
    assert tasks.dispatch_target(alice.pk) == stalled.pk
    assert f"behind promotion #{stalled.pk}" in waiting_reason(waiting)
    assert "waiting for a worker to resume it" in waiting_reason(waiting)
    assert engine.claim(waiting.pk, "eager") is None  # never two promotions on one target
    resumed = engine.claim(stalled.pk, "rescuer")
    assert resumed is not None and resumed.claimed_by == "rescuer"
    assert resumed.lease_until is not None and resumed.lease_until > timezone.now()


def test_it_holds_the_target_while_the_running_promotions_lease_is_live(pipeline, developer):
    alice = pipeline["alice"]
    running = make(
        alice,
        developer,
        PromotionStatus.RUNNING,
        claimed_by="busy",
        lease_until=timezone.now() + timedelta(minutes=5),
    )
    waiting = make(alice, developer)

    assert queue.next_on(alice.pk) is None
    assert tasks.dispatch_target(alice.pk) is None
    assert waiting_reason(waiting).endswith(
        f"behind promotion #{running.pk} to Dev Alice (running)."
    )
    assert engine.claim(running.pk, "thief") is None
    assert engine.claim(waiting.pk, "eager") is None


def test_it_runs_the_first_queued_promotion_of_each_target(pipeline, developer):
    first = make(pipeline["alice"], developer)
    second = make(pipeline["alice"], developer)
    elsewhere = make(pipeline["bob"], developer)

    assert queue.next_on(pipeline["alice"].pk) == first.pk
    assert sorted(tasks.dispatch()) == sorted([first.pk, elsewhere.pk])
    assert waiting_reason(first) == "Waiting for a worker to pick it up."
    assert f"behind promotion #{first.pk} to Dev Alice (queued)" in waiting_reason(second)
    assert engine.claim(second.pk, "w") is None
    assert engine.claim(first.pk, "w") is not None
    assert queue.next_on(pipeline["alice"].pk) is None
