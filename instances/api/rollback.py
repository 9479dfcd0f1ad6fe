"""Rolling a promotion back: what it would revert and what it cannot undo, and queueing the
rollback promotion (acknowledging that first)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status

from instances.api.auth import acting, need
from instances.api.common import form_data
from instances.api.problems import form_problem, refusal
from instances.api.promotion_shapes import PromotionDetail, promotion_detail
from instances.promotions.access import get_promotion_for
from instances.promotions.errors import PromotionError
from instances.promotions.forms import RollbackForm
from instances.promotions.irreversible import what_stays
from instances.promotions.rules import Action, allowed_actions, request_rollback
from releasemgr.models import Scope

# The operation ids these had when they were part of promotions.py: generated clients name their
# methods after them.
router = Router(tags=["promotions"])


class RollbackRequest(Schema):
    acknowledge: bool = Field(
        False, description="Acknowledge what the rollback cannot undo (GET lists it); required."
    )


class CannotUndo(Schema):
    title: str
    detail: str
    components: list[str]


class RollbackPreview(Schema):
    promotion: int
    allowed: bool = Field(description="Whether the caller may roll it back now.")
    refused: str = Field(description="Why not, when not.")
    features: list[str]
    reverts: list[str] = Field(description="The commits before and after its merges.")
    cannot_undo: list[CannotUndo]
    note: str = Field(description="Why the package could not be read, when it could not.")


@router.get(
    "/promotions/{pk}/rollback",
    response=RollbackPreview,
    summary="What rolling it back would revert, and what a rollback cannot undo",
    operation_id="instances_api_promotions_preview_rollback",
)
def preview_rollback(request: HttpRequest, pk: int) -> dict[str, Any]:
    promotion = get_promotion_for(request, pk, need="rollback")
    allowed = allowed_actions(promotion, acting(request))
    stays, note = what_stays(promotion)
    return {
        "promotion": promotion.pk,
        "allowed": Action.ROLLBACK in allowed,
        "refused": allowed.refused.get(Action.ROLLBACK, ""),
        "features": [i.feature.key for i in promotion.items.select_related("feature")],
        "reverts": [promotion.target_head_before, promotion.target_head_after],
        "cannot_undo": [
            {"title": s.title, "detail": s.detail, "components": s.components} for s in stays
        ],
        "note": note,
    }


@router.post(
    "/promotions/{pk}/rollback",
    response={201: PromotionDetail},
    summary="Roll it back: queue a rollback promotion into the same instance",
    description="The rollback reverts the promotion's merges on the target branch and deploys "
    "the inverse; it needs `acknowledge` of what it cannot undo (400 without it) and the "
    "target's approvals like any promotion. 409 when it cannot be rolled back now.",
    operation_id="instances_api_promotions_rollback_promotion",
)
def rollback_promotion(request: HttpRequest, pk: int, body: RollbackRequest) -> Status:
    need(request, Scope.PROMOTE)
    promotion = get_promotion_for(request, pk, need="rollback")
    user = acting(request)
    try:
        allowed_actions(promotion, user).check(Action.ROLLBACK)
    except PromotionError as exc:
        raise refusal(exc) from None
    form = RollbackForm(form_data(body.dict()))
    if not form.is_valid():
        raise form_problem(form)
    stays, _ = what_stays(promotion)
    try:
        rollback = request_rollback(
            promotion, user, acknowledge=True, acknowledged=[s.title for s in stays]
        )
    except PromotionError as exc:
        raise refusal(exc) from None
    return Status(201, promotion_detail(request, rollback.pk))
