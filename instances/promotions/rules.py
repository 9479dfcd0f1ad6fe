"""Requesting, approving, cancelling and retrying promotions: the rules, not the git work.

Views and commands call these; the engine (`instances.promotions.engine`) does the work in a worker.
Every change of state is a conditional UPDATE on the status it expects, so two people (or a
person and a worker) acting at once cannot both win, and each change is logged with its actor.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from branching import workspace
from branching.features import first_commit_time
from branching.models import Collection, Feature
from instances.environments import windows
from instances.environments.permissions import Capability, allows
from instances.models import (
    Approval,
    Decision,
    Direction,
    Instance,
    LogLevel,
    Promotion,
    PromotionFeature,
    PromotionStatus,
    WindowOverride,
)
from instances.models.promotion import CANCELLABLE, RETRYABLE, WAITING
from instances.promotions import reverts
from instances.promotions.approvals import (
    describe_need,
    digest_of,
    missing_approvals,
    subject_of,
    why_not_approver,
)
from instances.promotions.conflicts import Resolution
from instances.promotions.errors import PromotionError
from instances.promotions.log import log
from instances.promotions.routing import are, feature_commits, presences_of, route_to
from instances.promotions.tasks import run_promotion
from releasemgr.models import AuditEvent

# --------------------------------------------------------------------------- state changes


def enqueue(promotion: Promotion) -> None:
    """Hand the promotion to the task cluster once the transaction that queued it commits."""
    promotion_id = promotion.pk
    transaction.on_commit(
        lambda: async_task(run_promotion, promotion_id, task_name=f"promotion-{promotion_id}")
    )


def request_promotion(
    *,
    features: Sequence[Feature],
    target: Instance,
    user: User,
    collection: Collection | None = None,
    test_level: str = "",
    run_tests: Sequence[str] = (),
    replays: dict[str, dict[str, Any]] | None = None,
) -> Promotion:
    """Queue a promotion of `features` into `target`, or send it for approval.

    `replays` are the recorded resolutions the request's dry run replayed (`DryRun.replays`):
    kept as the promotion's `auto_resolutions`, they are shown to the approver and are part of
    what an approval covers, so a merge that replays the same ones needs no second approval.
    """
    if not allows(user, target, Capability.PROMOTE):
        raise PromotionError(f"{user} may not request promotions into {target.name}.")
    route = route_to(features, target)
    if why := reverts.split_rollback(target.pk, features):
        raise PromotionError(why)
    with workspace.open_storage(target.repository) as repo:
        workspace.sync(target.repository, repo)
        commits = feature_commits(features, route, repo)
        untimed = [
            (f, first_commit_time(repo, f.base_commit, c))
            for f, c in zip(features, commits, strict=True)
            if f.first_commit_at is None
        ]
    if route.direction == Direction.ENTER:
        where = presences_of(features)
        current = [
            f.key for f, c in zip(features, commits, strict=True) if where[f.pk].get(target.pk) == c
        ]
        if len(current) == len(features):
            raise PromotionError(
                f"{', '.join(current)} {are(current)} already in {target.name} with every "
                "commit of the feature branch; commit more work first."
            )
    needs_approval = target.requires_approval
    with transaction.atomic():
        promotion = Promotion.objects.create(
            target=target,
            source=route.source,
            direction=route.direction,
            collection=collection,
            requested_by=user,
            test_level=test_level,
            run_tests=list(run_tests),
            status=PromotionStatus.AWAITING_APPROVAL if needs_approval else PromotionStatus.QUEUED,
            auto_resolutions=replays or {},
        )
        for feature, began in untimed:
            if began is not None:
                feature.first_commit_at = began
                feature.save(update_fields=["first_commit_at"])
        PromotionFeature.objects.bulk_create(
            PromotionFeature(promotion=promotion, feature=f, position=i, commit=c)
            for i, (f, c) in enumerate(zip(features, commits, strict=True))
        )
        keys = ", ".join(f.key for f in features)
        origin = route.source.name if route.source else "their feature branches"
        log(
            promotion,
            f"{user} requested: {route.direction.label.lower()} {keys} from {origin} "
            f"into {target.name}.",
            actor=user,
        )
        if needs_approval:
            log(
                promotion,
                f"{target.name} requires approval. {describe_need(promotion)}",
                actor=user,
            )
        else:
            enqueue(promotion)
    return promotion


def _transition(
    promotion: Promotion, allowed: Iterable[str], new: PromotionStatus, **fields: object
) -> bool:
    """Move the status only if it still is one of `allowed`; False when someone got there first."""
    updated = Promotion.objects.filter(pk=promotion.pk, status__in=list(allowed)).update(
        status=new, **fields
    )
    if updated:
        promotion.refresh_from_db()
    return bool(updated)


# --------------------------------------------------------------------------- who may do what


class Action(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    CANCEL = "cancel"
    RETRY = "retry"
    RESOLVE = "resolve"  # retry a conflicted promotion with resolved content
    OVERRIDE = "override"  # push a queued promotion through its closed target
    ROLLBACK = "rollback"  # revert a succeeded promotion's merges in its target


# Who may do it, said to those who may not (the access helpers answer them with 403).
_ONLY = {
    Action.APPROVE: "Only release managers approve promotions.",
    Action.REJECT: "Only release managers reject promotions.",
    Action.CANCEL: "Only the requester or a release manager can cancel a promotion.",
    Action.RETRY: "Only the requester or a release manager can retry a promotion.",
    Action.RESOLVE: "Only the requester or a release manager can resolve a promotion.",
    Action.OVERRIDE: "Only a release manager who manages the target can override.",
    Action.ROLLBACK: "Only a release manager who manages or approves the target can roll back.",
}


@dataclass(frozen=True)
class Allowed:
    """What one user may do to one promotion.

    `permitted` is what who they are allows (release managers who may approve into the target
    approve and reject; the requester and release managers who manage the target cancel,
    retry and resolve; those managers also override a closed target): the access helpers
    refuse the rest with 403. `refused` holds the permitted actions that the promotion's
    state, or the rule that nobody decides on their own promotion, forbids now, each with its
    reason. An action in neither is open now: `action in allowed`, and the page shows its
    button.
    """

    permitted: frozenset[Action]
    refused: dict[Action, str]

    def __contains__(self, action: object) -> bool:
        return action in self.permitted and action not in self.refused

    def check(self, action: Action) -> None:
        """Raise PromotionError with the reason unless `action` is open now."""
        if action not in self.permitted:
            raise PromotionError(_ONLY[action])
        if action in self.refused:
            raise PromotionError(self.refused[action])


def allowed_actions(promotion: Promotion, user: User) -> Allowed:
    """The one answer to "what may this user do to this promotion now", read by the rules
    below, the access helpers and the promotion page."""
    target = promotion.target
    permitted: set[Action] = set()
    if user.has_perm("instances.approve_promotion") and allows(user, target, Capability.APPROVE):
        permitted |= {Action.APPROVE, Action.REJECT}
    manages = user.has_perm("instances.change_promotion") and allows(
        user, target, Capability.MANAGE
    )
    if manages or (user.pk == promotion.requested_by_id and allows(user, target, Capability.VIEW)):
        permitted |= {Action.CANCEL, Action.RETRY, Action.RESOLVE}
    if manages:
        permitted.add(Action.OVERRIDE)
    if reverts.may_roll_back(user, target):
        permitted.add(Action.ROLLBACK)
    refused: dict[Action, str] = {}
    number, status = f"Promotion #{promotion.pk}", promotion.get_status_display().lower()
    if promotion.status != PromotionStatus.AWAITING_APPROVAL:
        refused[Action.APPROVE] = f"{number} is {status}, not awaiting approval."
        refused[Action.REJECT] = f"{number} is not awaiting approval."
    elif user.pk == promotion.requested_by_id:
        refused[Action.APPROVE] = "A promotion needs approval by someone other than its requester."
        refused[Action.REJECT] = "Cancel your own promotion rather than rejecting it."
    elif Action.APPROVE in permitted and (
        why := why_not_approver(promotion, user, committers=False)
    ):
        refused[Action.APPROVE] = why  # the target's approval policy names someone else
    if promotion.status not in CANCELLABLE:
        refused[Action.CANCEL] = _why_no_cancel(promotion)
    if promotion.status not in RETRYABLE:
        refused[Action.RETRY] = f"{number} cannot be retried now."
    if promotion.status != PromotionStatus.CONFLICTED or not promotion.conflicts:
        refused[Action.RESOLVE] = f"{number} has no conflicts to resolve now."
    if Action.OVERRIDE in permitted:
        if promotion.status != PromotionStatus.QUEUED:
            refused[Action.OVERRIDE] = f"{number} is not queued."
        elif WindowOverride.objects.filter(promotion=promotion).exists():
            refused[Action.OVERRIDE] = f"{number} already has an override."
        elif windows.closure_of(target) is None:
            refused[Action.OVERRIDE] = f"{target.name} is open; there is nothing to override."
    if Action.ROLLBACK in permitted and (why := reverts.why_no_rollback(promotion)):
        refused[Action.ROLLBACK] = why
    return Allowed(frozenset(permitted), {a: r for a, r in refused.items() if a in permitted})


def request_rollback(
    promotion: Promotion, user: User, *, acknowledge: bool, acknowledged: Sequence[str] = ()
) -> Promotion:
    """Ask for a rollback promotion of `promotion` into its own target: it reverts the
    promotion's merges and deploys the inverse, with the target's approvals, windows and
    freezes like any promotion (docs/rollback.md). `acknowledged` are the titles of what the
    rollback cannot undo, as the requester saw them; `acknowledge` must be true."""
    allowed_actions(promotion, user).check(Action.ROLLBACK)
    if not acknowledge:
        raise PromotionError("Acknowledge what the rollback cannot undo before asking for it.")
    target = promotion.target
    needs_approval = target.requires_approval
    with transaction.atomic():
        # The row lock orders two people asking at once: the second sees the first's rollback.
        locked = Promotion.objects.select_for_update().filter(pk=promotion.pk).first()
        if locked is None or (why := reverts.why_no_rollback(locked)):
            raise PromotionError(why or f"Promotion #{promotion.pk} is gone.")
        items = list(locked.items.select_related("feature"))
        rollback = Promotion.objects.create(
            target=target,
            direction=Direction.ROLLBACK,
            rollback_of=locked,
            requested_by=user,
            test_level=locked.test_level,
            run_tests=list(locked.run_tests),
            status=PromotionStatus.AWAITING_APPROVAL if needs_approval else PromotionStatus.QUEUED,
        )
        PromotionFeature.objects.bulk_create(
            PromotionFeature(
                promotion=rollback, feature=i.feature, position=i.position, commit=i.commit
            )
            for i in items
        )
        keys = ", ".join(i.feature.key for i in items)
        log(
            rollback,
            f"{user} requested: roll back promotion #{locked.pk} ({keys}) in {target.name}.",
            actor=user,
        )
        noted = "; ".join(acknowledged) or "the rollback's limits"
        log(rollback, f"{user} acknowledged what it cannot undo: {noted}.", actor=user)
        log(locked, f"{user} asked for rollback #{rollback.pk}.", actor=user)
        AuditEvent.record(
            user,
            "rollback requested",
            locked,
            {"rollback": rollback.pk, "features": keys, "acknowledged": list(acknowledged)},
        )
        if needs_approval:
            log(
                rollback,
                f"{target.name} requires approval. {describe_need(rollback)}",
                actor=user,
            )
        else:
            enqueue(rollback)
    return rollback


def approve(promotion: Promotion, user: User, reason: str = "") -> None:
    """Record an approval of exactly what the promotion holds now (its digest); queue the
    promotion once the target's policy has every approval it asks for."""
    allowed_actions(promotion, user).check(Action.APPROVE)
    if why := why_not_approver(promotion, user):  # the policy and the last committers
        raise PromotionError(why)
    with transaction.atomic():
        # The row lock orders two approvers acting at once: the second sees the first's.
        locked = Promotion.objects.select_for_update().filter(pk=promotion.pk).first()
        if locked is None or locked.status != PromotionStatus.AWAITING_APPROVAL:
            status = locked.get_status_display().lower() if locked else "gone"
            raise PromotionError(f"Promotion #{promotion.pk} is {status}, not awaiting approval.")
        subject = subject_of(locked)
        digest = digest_of(subject)
        if locked.approvals.filter(user=user, decision=Decision.APPROVED, digest=digest).exists():
            raise PromotionError("You have already approved exactly this.")
        Approval.objects.create(
            promotion=locked,
            user=user,
            decision=Decision.APPROVED,
            reason=reason,
            digest=digest,
            subject=subject,
        )
        log(locked, f"{user} approved{': ' + reason if reason else ''}.", actor=user)
        missing = missing_approvals(locked, digest)
        if missing:
            log(locked, describe_need(locked, missing), actor=user)
        else:
            _transition(locked, [PromotionStatus.AWAITING_APPROVAL], PromotionStatus.QUEUED)
            enqueue(locked)
    promotion.refresh_from_db()


def reject(promotion: Promotion, user: User, reason: str) -> None:
    allowed_actions(promotion, user).check(Action.REJECT)
    if not reason.strip():
        raise PromotionError("Say why the promotion is rejected.")
    with transaction.atomic():
        if not _transition(
            promotion,
            [PromotionStatus.AWAITING_APPROVAL],
            PromotionStatus.REJECTED,
            finished_at=timezone.now(),
            failure_reason=f"Rejected by {user}: {reason}",
        ):
            raise PromotionError(f"Promotion #{promotion.pk} is not awaiting approval.")
        Approval.objects.create(
            promotion=promotion, user=user, decision=Decision.REJECTED, reason=reason
        )
        log(promotion, f"{user} rejected: {reason}", actor=user, level=LogLevel.WARNING)


def _why_no_cancel(promotion: Promotion) -> str:
    number, status = f"Promotion #{promotion.pk}", promotion.get_status_display().lower()
    if promotion.status == PromotionStatus.ERRORED:
        return (
            f"{number} errored and may have reached {promotion.target.name} before it stopped; "
            "retry it to finish."
        )
    return f"{number} is {status}; only waiting, conflicted or failed promotions can be cancelled."


def cancel(promotion: Promotion, user: User) -> None:
    """Give up a waiting promotion, or one that conflicted or failed (it is not retried).

    A promotion that ran keeps the time it ended (its failure stays where it happened in the
    metrics); the log says who gave it up, after what.
    """
    allowed_actions(promotion, user).check(Action.CANCEL)
    ended = promotion.status not in WAITING and promotion.finished_at is not None
    after = promotion.get_status_display().lower()
    with transaction.atomic():
        fields = {} if ended else {"finished_at": timezone.now()}
        if not _transition(promotion, CANCELLABLE, PromotionStatus.CANCELLED, **fields):
            promotion.refresh_from_db()
            raise PromotionError(_why_no_cancel(promotion))
        said = f"{user} cancelled the promotion"
        said += f" after it {after}; it will not be retried." if ended else "."
        log(promotion, said, actor=user, level=LogLevel.WARNING)


def retry(
    promotion: Promotion, user: User, resolutions: dict[str, Resolution] | None = None
) -> None:
    """Queue a conflicted, failed or errored promotion again, from the start.

    Resolutions (path → resolved text, or one side taken whole) are kept on the promotion and
    written into its merge commit on the next run; the feature branches stay as they are.
    """
    allowed_actions(promotion, user).check(Action.RESOLVE if resolutions else Action.RETRY)
    fields: dict[str, object] = {
        "step": 0,
        "attempt": promotion.attempt + 1,
        "failure_reason": "",
        "conflicts": [],
        "finished_at": None,
        "claimed_by": "",
        "lease_until": None,
        "temp_branch": "",
        "merged_head": "",
        "target_head_before": "",
    }
    merged = dict(promotion.resolutions or {})
    if resolutions:
        merged.update(resolutions)
        fields["resolutions"] = merged
        # Keep both sides of each resolved path, for the approver's diff, and who resolved it.
        sides = dict(promotion.resolved_conflicts or {})
        for conflict in promotion.conflicts or []:
            if conflict.get("path") in resolutions:
                sides[conflict["path"]] = {
                    "ours": conflict.get("ours"),
                    "theirs": conflict.get("theirs"),
                    "base": conflict.get("base"),
                    "by": user.pk,
                }
        fields["resolved_conflicts"] = sides
    with transaction.atomic():
        # Approvals count only for exactly what they approved: new or changed resolutions
        # send the promotion back for approval (docs/design.md, invariant 8).
        digest = digest_of(subject_of(promotion, merged))
        missing = missing_approvals(promotion, digest)
        status = PromotionStatus.AWAITING_APPROVAL if missing else PromotionStatus.QUEUED
        if not _transition(promotion, RETRYABLE, status, **fields):
            raise PromotionError(f"Promotion #{promotion.pk} cannot be retried now.")
        note = f" with resolutions for {', '.join(sorted(resolutions))}" if resolutions else ""
        log(promotion, f"{user} queued the promotion again{note}.", actor=user)
        if status == PromotionStatus.QUEUED:
            enqueue(promotion)
        else:
            given = promotion.approvals.filter(decision=Decision.APPROVED).exists()
            again = "What was approved changed: it needs approval again. " if given else ""
            log(promotion, again + describe_need(promotion, missing), actor=user)
