"""Access to promotions, called on the first line of every promotion view.

A promotion is visible to those who may see its target (and its source); the decisions are
`instances.environments.permissions`'. Who may act on it is `rules.allowed_actions`: this
helper answers 403 to those whose role never permits the action asked for.
"""

from typing import Literal

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from instances.environments.permissions import visible_promotions
from instances.models import Promotion
from instances.promotions.rules import Action, allowed_actions
from releasemgr.access import Need, require_perm

# What someone wants to do with a promotion: see it, approve or reject it (release managers
# who may approve into its target), cancel, retry or resolve it (its requester and release
# managers), or push it through a closed target (release managers who manage the target).
# Roll it back: release managers who manage or approve into its target.
PromotionNeed = Literal["view", "approve", "act", "override", "rollback"]
_ACTION_FOR = {
    "approve": Action.APPROVE,
    "act": Action.CANCEL,
    "override": Action.OVERRIDE,
    "rollback": Action.ROLLBACK,
}


def get_promotion_for(request: HttpRequest, pk: int, need: PromotionNeed = "view") -> Promotion:
    require_perm(request, Promotion, "view")
    promotion = (
        visible_promotions(request.user)
        .select_related(
            "target__repository",
            "target__parent",
            "source",
            "collection",
            "requested_by",
            "rollback_of",
        )
        .filter(pk=pk)
        .first()
    )
    if promotion is None:
        raise Http404(f"No promotion with id {pk}.")
    if need != "view":
        permitted = allowed_actions(promotion, request.user).permitted  # type: ignore[arg-type]
        if _ACTION_FOR[need] not in permitted:
            raise PermissionDenied(
                {
                    "approve": f"You may not approve promotions into {promotion.target.name}.",
                    "override": "Only a release manager who manages the target can override.",
                    "rollback": f"You may not roll back promotions in {promotion.target.name}.",
                }.get(need, "Only the requester or a release manager can do that.")
            )
    return promotion


def require_promotion_perm(request: HttpRequest, need: Need) -> None:
    require_perm(request, Promotion, need)
