"""The promotion engine: docs/design.md's "How a promotion runs", one recorded step at a time.

A worker first *claims* the promotion (a conditional update under a row lock on the target
instance, so at most one promotion writes to a target branch at a time), then runs the steps
after the last one recorded. Each step ends by recording itself together with a renewed lease;
the record is conditional on the worker still holding the claim. A worker that dies leaves a
lease that expires, and the dispatcher hands the promotion to another worker, which resumes.

Only step 5 touches the target branch, with a compare-and-swap from the head recorded in step 2,
so a failed, conflicted or crashed promotion leaves the target exactly where it was, and a
resumed one never merges into it twice.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from branching import workspace
from instances.models import Instance, LogLevel, Promotion, PromotionStatus, Step, leases
from instances.promotions import queue
from instances.promotions.approvals import describe_need
from instances.promotions.log import log
from instances.promotions.running import (
    Conflicted,
    LostClaim,
    NeedsApproval,
    PromotionFailed,
    Run,
    TargetMoved,
)
from instances.promotions.steps import (
    check,
    create_temp_branch,
    delete_temp_branch,
    deploy,
    merge_features,
    move_target,
    record_presence,
)

logger = logging.getLogger(__name__)

MAX_RESTARTS = 3


# --------------------------------------------------------------------------- claiming


def claim(promotion_id: int, worker: str) -> Promotion | None:
    """Take the promotion for `worker`, or None when it is not runnable now.

    Runnable: what `queue.next_on` says may run next on its target (the first queued one that
    the target's windows and freezes let through, or a running promotion whose lease lapsed:
    its worker died, so resume it).
    """
    now = timezone.now()
    with transaction.atomic():
        promotion = (
            Promotion.objects.select_for_update().select_related("target").filter(pk=promotion_id)
        ).first()
        if promotion is None or promotion.status not in queue.ACTIVE:
            return None
        # The per-target lock: a row lock on PostgreSQL; SQLite's IMMEDIATE transaction already
        # serialises every writer.
        Instance.objects.select_for_update().filter(pk=promotion.target_id).first()
        if queue.next_on(promotion.target_id, now) != promotion.pk:
            return None
        resuming = promotion.status == PromotionStatus.RUNNING
        previous = promotion.claimed_by
        started_at = promotion.started_at or now
        if not leases.take(
            Promotion.objects.filter(pk=promotion.pk, status__in=queue.ACTIVE),
            worker,
            status=PromotionStatus.RUNNING,
            started_at=started_at,
        ):
            return None
        promotion.refresh_from_db(fields=["status", "claimed_by", "lease_until", "started_at"])
        if resuming:
            log(
                promotion,
                f"Resumed by {worker} after step “{Step(promotion.step).label}” "
                f"({previous or 'a worker'} stopped answering).",
                level=LogLevel.WARNING,
            )
        else:
            log(promotion, f"Started by {worker}.")
    return promotion


# --------------------------------------------------------------------------- running


def run_promotion(promotion_id: int, worker: str | None = None) -> PromotionStatus | leases.Outcome:
    """Claim and run one promotion; returns its final status (or why it did not run)."""
    worker = worker or leases.worker_id()
    promotion = claim(promotion_id, worker)
    if promotion is None:
        return leases.Outcome.NOT_RUNNABLE
    run = Run(promotion, worker, float(getattr(settings, "PROMOTION_STEP_PAUSE", 0)))
    try:
        _execute(run)
    except LostClaim:
        logger.warning("promotion %s: lost the claim to another worker", promotion_id)
        return leases.Outcome.LOST_CLAIM
    except Conflicted as exc:
        _finish(run, PromotionStatus.CONFLICTED, str(exc), conflicts=exc.conflicts)
    except NeedsApproval as exc:
        _await_approval(run, str(exc))
    except PromotionFailed as exc:
        _finish(run, PromotionStatus.FAILED, str(exc))
    except Exception as exc:
        logger.exception("promotion %s errored", promotion_id)
        _finish(run, PromotionStatus.ERRORED, f"{exc.__class__.__name__}: {exc}")
    return PromotionStatus(run.promotion.status)


def _execute(run: Run) -> None:
    promotion = run.promotion
    target = promotion.target
    repository = target.repository
    restarts = 0
    with workspace.open_storage(repository) as repo:
        while True:
            try:
                workspace.sync(repository, repo)
                if promotion.step < Step.CHECKED:
                    check(run, repo)
                if promotion.step < Step.TEMP_BRANCH:
                    create_temp_branch(run, repo)
                if promotion.step < Step.MERGED:
                    merge_features(run, repo)
                if promotion.step < Step.DEPLOYED:
                    deploy(run, repo)
                if promotion.step < Step.TARGET_MOVED:
                    move_target(run, repo)
                break
            except TargetMoved as exc:
                restarts += 1
                if restarts > MAX_RESTARTS:
                    raise PromotionFailed(
                        f"{target.name}'s branch kept moving while we promoted; try again."
                    ) from None
                run.log(f"{exc} Starting again from the fetch.", level=LogLevel.WARNING)
                delete_temp_branch(run, repo)
                run.record(Step.NONE, temp_branch="", merged_head="", target_head_before="")
        if promotion.step < Step.CLEANED:
            delete_temp_branch(run, repo)
            run.record(Step.CLEANED)
        if promotion.step < Step.RECORDED:
            record_presence(run)


def _await_approval(run: Run, reason: str) -> None:
    """Send a promotion back to awaiting approval, to start again from the check once
    approved; the target branch was never moved."""
    promotion = run.promotion
    with transaction.atomic():
        updated = Promotion.objects.filter(
            pk=promotion.pk, status=PromotionStatus.RUNNING, claimed_by=run.worker
        ).update(
            status=PromotionStatus.AWAITING_APPROVAL,
            step=Step.NONE,
            claimed_by="",
            lease_until=None,
            temp_branch="",
            merged_head="",
            target_head_before="",
        )
        if not updated:
            return
        promotion.status = PromotionStatus.AWAITING_APPROVAL
        run.log(f"{reason} {describe_need(promotion)}", level=LogLevel.WARNING)
    _delete_temp_branch(run)


def _delete_temp_branch(run: Run) -> None:
    promotion = run.promotion
    try:
        with workspace.open_storage(promotion.target.repository) as repo:
            delete_temp_branch(run, repo)
    except Exception:
        logger.exception("promotion %s: could not delete its temporary branch", promotion.pk)


def _finish(run: Run, status: PromotionStatus, reason: str, **fields: Any) -> None:
    """End a promotion that did not succeed: the target branch was never moved.

    The status and its log line are written together (whoever sees the status can read the
    reason), and only while this worker still holds the claim: a worker that lost it leaves
    the promotion, and its temporary branch, to the one that resumed it.
    """
    promotion = run.promotion
    with transaction.atomic():
        updated = Promotion.objects.filter(
            pk=promotion.pk, status=PromotionStatus.RUNNING, claimed_by=run.worker
        ).update(
            status=status,
            failure_reason=reason,
            finished_at=timezone.now(),
            lease_until=None,
            **fields,
        )
        if not updated:
            return
        promotion.status = status
        run.log(f"{status.label}: {reason}", level=LogLevel.ERROR)
    _delete_temp_branch(run)
