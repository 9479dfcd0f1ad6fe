"""The queue of each target: the only answer to "what may run next on this target".

The claim (`engine.claim`), the dispatcher (`tasks.dispatch_target`) and the "why it waits"
text all ask here, so they cannot disagree. The rule, per target instance:

- A running promotion holds the target until it ends. While its lease is live its worker is at
  it and nothing else may start; once the lease has lapsed (or was never written) it is the
  next to run, resumed from the step it recorded, ahead of anything queued. A closed target
  (a freeze, outside its windows: `environments.windows`) does not stop what runs already.
- Otherwise the queued promotion with the lowest id runs next; while the target is closed,
  only promotions with an emergency override are considered, in their order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Exists, OuterRef
from django.utils import timezone

from instances.environments import windows
from instances.models import Instance, Promotion, PromotionStatus, WindowOverride
from instances.models.leases import is_live
from instances.promotions import approvals

ACTIVE = (PromotionStatus.RUNNING, PromotionStatus.QUEUED)


@dataclass(frozen=True)
class Slot:
    """An unfinished promotion as the queue sees it."""

    pk: int
    target_id: int
    status: str
    lease_until: datetime | None
    overridden: bool  # an emergency override lets it through a closed target

    def is_busy(self, now: datetime) -> bool:
        """Running, with a worker at it."""
        return self.status == PromotionStatus.RUNNING and is_live(self.lease_until, now)


def _slots(target_ids: Iterable[int]) -> dict[int, list[Slot]]:
    """target id → its running and queued promotions, in id order (one query)."""
    out: dict[int, list[Slot]] = defaultdict(list)
    for row in (
        Promotion.objects.filter(target_id__in=list(target_ids), status__in=ACTIVE)
        .annotate(overridden=Exists(WindowOverride.objects.filter(promotion=OuterRef("pk"))))
        .order_by("pk")
        .values_list("pk", "target_id", "status", "lease_until", "overridden")
    ):
        out[row[1]].append(Slot(*row))
    return out


def head(slots: Sequence[Slot], *, closed: bool = False) -> Slot | None:
    """The promotion at the head of one target's queue: the running one, else the first queued
    (the first overridden one while the target is closed)."""
    running = next((s for s in slots if s.status == PromotionStatus.RUNNING), None)
    if running is not None:
        return running
    return next(
        (s for s in slots if s.status == PromotionStatus.QUEUED and (s.overridden or not closed)),
        None,
    )


def next_on(target_id: int, now: datetime | None = None) -> int | None:
    """The id of the promotion that may run on this target now, or None (busy, closed, or
    empty)."""
    now = now or timezone.now()
    slots = _slots([target_id]).get(target_id, [])
    if not slots:
        return None
    closed = False
    if not any(s.status == PromotionStatus.RUNNING for s in slots):
        target = Instance.objects.filter(pk=target_id).first()
        closed = target is not None and windows.closure_of(target, now) is not None
    first = head(slots, closed=closed)
    if first is None or first.is_busy(now):
        return None
    return first.pk


def targets_with_work() -> list[int]:
    """Targets with a running or queued promotion: where the dispatcher looks."""
    return list(
        Promotion.objects.filter(status__in=ACTIVE)
        .order_by()
        .values_list("target_id", flat=True)
        .distinct()
    )


def waiting_reasons(promotions: Sequence[Promotion]) -> dict[int, str]:
    """promotion id → why it waits, for the waiting ones (their target must be loaded)."""
    reasons: dict[int, str] = {}
    for promotion in promotions:
        if promotion.status == PromotionStatus.AWAITING_APPROVAL:
            reasons[promotion.pk] = approvals.describe_need(promotion)
    queued = [p for p in promotions if p.status == PromotionStatus.QUEUED]
    if not queued:
        return reasons
    now = timezone.now()
    closures = windows.closures_of(list({p.target_id: p.target for p in queued}.values()), now)
    slots = _slots({p.target_id for p in queued})
    for promotion in queued:
        mine = next((s for s in slots[promotion.target_id] if s.pk == promotion.pk), None)
        closure = closures.get(promotion.target_id)
        if closure is not None and not (mine and mine.overridden):
            reasons[promotion.pk] = f"{promotion.target.name} is closed. {closure.text}"
            continue
        first = head(slots[promotion.target_id], closed=closure is not None)
        if first is None or first.pk == promotion.pk:
            reasons[promotion.pk] = "Waiting for a worker to pick it up."
            continue
        label = PromotionStatus(first.status).label.lower()
        if first.status == PromotionStatus.RUNNING and not first.is_busy(now):
            label += ", waiting for a worker to resume it"
        reasons[promotion.pk] = (
            f"Waiting behind promotion #{first.pk} to {promotion.target.name} ({label})."
        )
    return reasons


def waiting_reason(promotion: Promotion) -> str:
    """Why one promotion has not finished yet, in words (empty once it has)."""
    return waiting_reasons([promotion]).get(promotion.pk, "")
