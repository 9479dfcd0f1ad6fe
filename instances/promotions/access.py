"""Access to promotions, called on the first line of every promotion view.

A promotion is visible to those who may see its target (and its source); the decisions are
`instances.environments.permissions`'.
"""

from typing import Literal

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from instances.environments.permissions import allows, visible_promotions
from instances.models import Capability, Promotion
from instances.promotions.rules import may_act_on
from releasemgr.access import Need, require_perm

# What someone wants to do with a promotion: see it, approve or reject it (release managers
# who may approve into its target), cancel or retry it (its requester and release managers),
# or push it through a closed target (release managers who manage the target).
PromotionNeed = Literal["view", "approve", "act", "override"]


def get_promotion_for(request: HttpRequest, pk: int, need: PromotionNeed = "view") -> Promotion:
    require_perm(request, Promotion, "view")
    promotion = (
        visible_promotions(request.user)
        .select_related(
            "target__repository", "target__parent", "source", "collection", "requested_by"
        )
        .filter(pk=pk)
        .first()
    )
    if promotion is None:
        raise Http404(f"No promotion with id {pk}.")
    user = request.user
    if need == "approve" and not (
        user.has_perm("instances.approve_promotion")
        and allows(user, promotion.target, Capability.APPROVE)
    ):
        raise PermissionDenied(f"You may not approve promotions into {promotion.target.name}.")
    if need == "override" and not (
        user.has_perm("instances.change_promotion")
        and allows(user, promotion.target, Capability.MANAGE)
    ):
        raise PermissionDenied("Only a release manager who manages the target can override.")
    if need == "act" and not may_act_on(promotion, user):  # type: ignore[arg-type]
        raise PermissionDenied("Only the requester or a release manager can do that.")
    return promotion


def require_promotion_perm(request: HttpRequest, need: Need) -> None:
    require_perm(request, Promotion, need)
