"""Access to promotions, called on the first line of every promotion view."""

from typing import Literal

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from instances.models import Promotion
from instances.promotions.rules import may_act_on
from releasemgr.access import Need, get_object_for, require_perm

# What someone wants to do with a promotion: see it, approve or reject it (release managers),
# or cancel or retry it (its requester and release managers).
PromotionNeed = Literal["view", "approve", "act"]


def get_promotion_for(request: HttpRequest, pk: int, need: PromotionNeed = "view") -> Promotion:
    promotion = get_object_for(
        request,
        Promotion.objects.select_related(
            "target__repository", "target__parent", "source", "collection", "requested_by"
        ),
        pk,
        "view",
    )
    user = request.user
    if need == "approve" and not user.has_perm("instances.approve_promotion"):
        raise PermissionDenied("Only release managers approve or reject promotions.")
    if need == "act" and not may_act_on(promotion, user):  # type: ignore[arg-type]
        raise PermissionDenied("Only the requester or a release manager can do that.")
    return promotion


def require_promotion_perm(request: HttpRequest, need: Need) -> None:
    require_perm(request, Promotion, need)
