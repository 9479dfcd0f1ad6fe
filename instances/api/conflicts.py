"""A promotion's conflicts: the conflicted paths with base, ours, theirs and git's result, and
resolving them (the content of a path, or one side taken whole), which retries the promotion."""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema

from instances.api.auth import acting, need
from instances.api.common import form_data
from instances.api.problems import Problem, form_problem
from instances.api.promotion_shapes import ConflictOut, PromotionDetail, act, conflicts_out
from instances.models import PromotionStatus
from instances.promotions import conflicts as conflict_text
from instances.promotions.access import get_promotion_for
from instances.promotions.forms import ResolutionForm
from instances.promotions.rules import retry
from releasemgr.models import Scope

# The operation ids these had when they were part of promotions.py: generated clients name their
# methods after them.
router = Router(tags=["promotions"])


class Resolutions(Schema):
    resolutions: dict[str, str] = Field(
        default_factory=dict,
        description="Conflicted path → its resolved content (only for editable paths).",
    )
    take: dict[str, Literal["ours", "theirs"]] = Field(
        default_factory=dict,
        description="Conflicted path → the side to take whole, byte for byte.",
    )


@router.get(
    "/promotions/{pk}/conflicts",
    response=list[ConflictOut],
    summary="Conflicted paths with base, ours, theirs and git's result",
    operation_id="instances_api_promotions_get_conflicts",
)
def get_conflicts(request: HttpRequest, pk: int) -> list[dict[str, Any]]:
    return conflicts_out(get_promotion_for(request, pk))


@router.post(
    "/promotions/{pk}/resolve",
    response=PromotionDetail,
    summary="Retry a conflicted promotion with the resolved content of its conflicted paths",
    operation_id="instances_api_promotions_resolve_promotion",
)
def resolve_promotion(request: HttpRequest, pk: int, body: Resolutions) -> dict[str, Any]:
    need(request, Scope.PROMOTE)
    promotion = get_promotion_for(request, pk, need="act")
    if promotion.status != PromotionStatus.CONFLICTED:
        raise Problem(409, f"Promotion #{promotion.pk} has no conflicts to resolve now.")
    form = ResolutionForm(conflicts=promotion.conflicts)
    texts = {str(conflict.get("path")): name for conflict, name, _ in form.entries if name}
    takes = {str(conflict.get("path")): name for conflict, _, name in form.entries if name}
    known = {str(conflict.get("path")): conflict for conflict, _, _ in form.entries}
    errors = [
        f"{p}: not a conflicted path of promotion #{promotion.pk}."
        for p in sorted((set(body.resolutions) | set(body.take)) - set(known))
    ]
    errors += [
        f"{p} cannot be resolved as text here: "
        f"{conflict_text.why_not_editable(known[p])}; take one side whole (take)."
        for p in sorted(set(body.resolutions) & set(known) - set(texts))
    ]
    errors += [
        f"{p}: no side of it can be taken whole here."
        for p in sorted(set(body.take) & set(known) - set(takes))
    ]
    if errors:
        raise Problem(
            400,
            "Not a conflicted path of promotion "
            f"#{promotion.pk} that can be resolved that way: " + " ".join(errors),
            errors={"resolutions": errors},
        )
    values: dict[str, Any] = {texts[p]: text for p, text in body.resolutions.items()}
    values.update({takes[p]: side for p, side in body.take.items()})
    form = ResolutionForm(form_data(values), conflicts=promotion.conflicts, partial=True)
    if not form.is_valid():
        raise form_problem(form)
    asked = set(body.resolutions) | set(body.take)
    given = {p: r for p, r in form.resolutions().items() if p in asked}
    return act(request, promotion, lambda: retry(promotion, acting(request), given))
