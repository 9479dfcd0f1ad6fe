"""Promotion tasks for the django-q2 cluster: run a promotion, and keep every target's queue
moving."""

from __future__ import annotations

from django.db.models import Min, Q
from django.utils import timezone
from django_q.tasks import async_task

from instances.models import Instance, Promotion, PromotionStatus
from instances.promotions import engine, windows


def run_promotion(promotion_id: int) -> str:
    """Run one promotion if it is runnable; a duplicate or early task simply does nothing."""
    return engine.run_promotion(promotion_id)


def dispatch_target(target_id: int) -> int | None:
    """Queue a task for the promotion that should run next on this target, if any."""
    now = timezone.now()
    active = Promotion.objects.filter(target_id=target_id)
    stale = (
        active.filter(status=PromotionStatus.RUNNING)
        .filter(Q(lease_until__lt=now) | Q(lease_until__isnull=True))
        .first()
    )
    if stale is not None:
        next_id: int | None = stale.pk
    elif active.filter(status=PromotionStatus.RUNNING).exists():
        return None
    else:
        queued = active.filter(status=PromotionStatus.QUEUED)
        target = Instance.objects.filter(pk=target_id).first()
        if target is not None and windows.closure_of(target, now) is not None:
            queued = queued.filter(override__isnull=False)  # closed: only overrides start
        next_id = queued.aggregate(first=Min("id"))["first"]
    if next_id is not None:
        async_task(run_promotion, next_id, task_name=f"promotion-{next_id}")
    return next_id


def dispatch() -> list[int]:
    """Every minute: start what waits behind a finished promotion; resume a dead worker's."""
    targets = (
        Promotion.objects.filter(status__in=[PromotionStatus.QUEUED, PromotionStatus.RUNNING])
        .values_list("target_id", flat=True)
        .distinct()
    )
    started = [dispatch_target(t) for t in targets]
    return [p for p in started if p is not None]
