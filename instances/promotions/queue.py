"""Why promotions wait: one query for a whole list page (`promotions.waiting_reason` asks
here for a single promotion)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from instances.models import Promotion, PromotionStatus, WindowOverride
from instances.promotions import windows


def waiting_reasons(promotions: Sequence[Promotion]) -> dict[int, str]:
    """promotion id → why it waits, for the waiting ones (their target must be loaded)."""
    reasons: dict[int, str] = {}
    queued = [p for p in promotions if p.status == PromotionStatus.QUEUED]
    for promotion in promotions:
        if promotion.status == PromotionStatus.AWAITING_APPROVAL:
            reasons[promotion.pk] = (
                f"Waiting for approval by a release manager other than {promotion.requested_by}."
            )
    if not queued:
        return reasons
    closures = windows.closures_of(list({p.target_id: p.target for p in queued}.values()))
    overridden = set(
        WindowOverride.objects.filter(promotion__in=queued).values_list("promotion_id", flat=True)
    )
    active: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for pk, target_id, status in (
        Promotion.objects.filter(
            target_id__in={p.target_id for p in queued},
            status__in=[PromotionStatus.RUNNING, PromotionStatus.QUEUED],
        )
        .order_by("pk")
        .values_list("pk", "target_id", "status")
    ):
        active[target_id].append((pk, status))
    for promotion in queued:
        closure = closures.get(promotion.target_id)
        if closure is not None and promotion.pk not in overridden:
            reasons[promotion.pk] = f"{promotion.target.name} is closed. {closure.text}"
            continue
        ahead = next(
            (
                (pk, status)
                for pk, status in active[promotion.target_id]
                if status == PromotionStatus.RUNNING or pk < promotion.pk
            ),
            None,
        )
        if ahead is None:
            reasons[promotion.pk] = "Waiting for a worker to pick it up."
        else:
            label = PromotionStatus(ahead[1]).label.lower()
            reasons[promotion.pk] = (
                f"Waiting behind promotion #{ahead[0]} to {promotion.target.name} ({label})."
            )
    return reasons
