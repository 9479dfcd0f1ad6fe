"""Access to subscriptions, endpoints and deliveries: each person sees and changes their own;
release managers also see every delivery."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from instances.notifications.models import Delivery, Endpoint, Subscription
from releasemgr.http import AuthedRequest
from releasemgr.roles import is_release_manager


def require_role(request: AuthedRequest) -> None:
    """Everyone with a role may subscribe; RoleRequiredMiddleware stops the rest first."""
    if not request.user.has_perm("instances.view_promotion"):
        raise Http404("No notifications here.")


def get_subscription_for(request: AuthedRequest, pk: int) -> Subscription:
    require_role(request)
    subscription = Subscription.objects.filter(pk=pk, user=request.user).first()
    if subscription is None:
        raise Http404(f"No subscription with id {pk}.")
    return subscription


def get_endpoint_for(request: AuthedRequest, pk: int) -> Endpoint:
    require_role(request)
    endpoint = Endpoint.objects.filter(pk=pk, owner=request.user).first()
    if endpoint is None:
        raise Http404(f"No webhook endpoint with id {pk}.")
    return endpoint


def visible_deliveries(request: AuthedRequest) -> QuerySet[Delivery]:
    require_role(request)
    deliveries = Delivery.objects.select_related("event", "user", "endpoint")
    if is_release_manager(request.user):
        return deliveries
    return deliveries.filter(Q(user=request.user) | Q(endpoint__owner=request.user))
