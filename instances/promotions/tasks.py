"""Promotion tasks for the django-q2 cluster: run a promotion, and keep every target's queue
moving."""

from __future__ import annotations

from django_q.tasks import async_task

from instances.models import Promotion, PromotionStatus, leases
from instances.models.promotion import TERMINAL
from instances.promotions import engine, queue


def start_feature_job(job_id: int) -> str:
    """Start a feature on a repository with a remote (the page follows the job)."""
    from instances.promotions import features
    from releasemgr import jobs

    return jobs.run(job_id, features.run_start_job, features.START_ERRORS)


def promotion_request_job(job_id: int) -> str:
    """Fetch, dry-run and request a promotion (the request page and the API follow the job)."""
    from instances.promotions import requests
    from releasemgr import jobs

    return jobs.run(job_id, requests.run_request_job, requests.REQUEST_ERRORS)


def run_promotion(promotion_id: int) -> PromotionStatus | leases.Outcome:
    """Run one promotion if it is runnable (a duplicate or early task simply does nothing);
    once it has ended, start what waits behind it on the same target."""
    result = engine.run_promotion(promotion_id)
    if result in TERMINAL:
        target_id = (
            Promotion.objects.filter(pk=promotion_id).values_list("target_id", flat=True).first()
        )
        if target_id is not None:
            dispatch_target(target_id)
    return result


def dispatch_target(target_id: int) -> int | None:
    """Queue a task for the promotion that should run next on this target, if any."""
    next_id = queue.next_on(target_id)
    if next_id is not None:
        async_task(run_promotion, next_id, task_name=f"promotion-{next_id}")
    return next_id


def dispatch() -> list[int]:
    """Every minute: start what waits behind a finished promotion; resume a dead worker's."""
    started = [dispatch_target(t) for t in queue.targets_with_work()]
    return [p for p in started if p is not None]
