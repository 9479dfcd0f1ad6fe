"""A promotion's approvals: its decisions, and approving or rejecting it (the target's
approvers, as on its page)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from instances.api.auth import acting, need
from instances.api.promotion_shapes import ApprovalOut, PromotionDetail, act, approvals_out
from instances.promotions.access import get_promotion_for
from instances.promotions.rules import approve, reject
from releasemgr.models import Scope

# The operation ids these had when they were part of promotions.py: generated clients name their
# methods after them.
router = Router(tags=["promotions"])


class Reason(Schema):
    reason: str = ""


@router.get(
    "/promotions/{pk}/approvals",
    response=list[ApprovalOut],
    summary="Its decisions",
    operation_id="instances_api_promotions_get_approvals",
)
def get_approvals(request: HttpRequest, pk: int) -> list[dict[str, Any]]:
    return approvals_out(get_promotion_for(request, pk))


@router.post(
    "/promotions/{pk}/approve",
    response=PromotionDetail,
    summary="Approve it",
    operation_id="instances_api_promotions_approve_promotion",
)
def approve_promotion(request: HttpRequest, pk: int, body: Reason) -> dict[str, Any]:
    need(request, Scope.APPROVE)
    promotion = get_promotion_for(request, pk, need="approve")
    return act(request, promotion, lambda: approve(promotion, acting(request), body.reason.strip()))


@router.post(
    "/promotions/{pk}/reject",
    response=PromotionDetail,
    summary="Reject it",
    operation_id="instances_api_promotions_reject_promotion",
)
def reject_promotion(request: HttpRequest, pk: int, body: Reason) -> dict[str, Any]:
    need(request, Scope.APPROVE)
    promotion = get_promotion_for(request, pk, need="approve")
    return act(request, promotion, lambda: reject(promotion, acting(request), body.reason.strip()))
