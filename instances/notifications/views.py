"""Pages: your subscriptions and webhook endpoints, and the delivery log."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from instances.notifications.access import (
    get_endpoint_for,
    get_subscription_for,
    require_role,
    visible_deliveries,
)
from instances.notifications.forms import EndpointForm, SubscriptionForm
from instances.notifications.models import DeliveryStatus, Endpoint, Subscription, WebhookFormat
from releasemgr.http import AuthedRequest, redirect_after_post
from releasemgr.models import AuditEvent


@require_http_methods(["GET", "POST"])
def subscription_list(request: AuthedRequest) -> HttpResponse:
    require_role(request)
    form = SubscriptionForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        subscription = form.save()
        AuditEvent.record(request.user, "subscribed", subscription, {"events": subscription.events})
        messages.success(request, "Subscribed.")
        return redirect_after_post(request, request.path)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "instances/notifications/subscription_list.html",
        {
            "form": form,
            "endpoint_form": EndpointForm(),
            "subscriptions": Subscription.objects.filter(user=request.user).select_related(
                "instance", "endpoint"
            ),
            "endpoints": Endpoint.objects.filter(owner=request.user),
        },
        status=status,
    )


@require_POST
def subscription_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    subscription = get_subscription_for(request, pk)
    AuditEvent.record(request.user, "unsubscribed", subscription)
    subscription.delete()
    messages.success(request, "Subscription removed.")
    return redirect("subscription_list")


@require_http_methods(["GET", "POST"])
def endpoint_create(request: AuthedRequest) -> HttpResponse:
    require_role(request)
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        endpoint = form.save(commit=False)
        endpoint.owner = request.user
        secret = secrets.token_urlsafe(32) if endpoint.format == WebhookFormat.GENERIC else ""
        endpoint.secret = secret
        endpoint.save()
        AuditEvent.record(request.user, "created", endpoint, {"url": endpoint.url})
        # The secret is shown on this response only; it is stored encrypted.
        return render(
            request,
            "instances/notifications/endpoint_created.html",
            {"endpoint": endpoint, "secret": secret},
        )
    status = 400 if request.method == "POST" else 200
    return render(
        request, "instances/notifications/endpoint_form.html", {"form": form}, status=status
    )


@require_POST
def endpoint_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    endpoint = get_endpoint_for(request, pk)
    AuditEvent.record(request.user, "deleted", endpoint, {"url": endpoint.url})
    endpoint.delete()
    messages.success(request, f"Webhook endpoint “{endpoint.name}” deleted.")
    return redirect("subscription_list")


def delivery_list(request: AuthedRequest) -> HttpResponse:
    deliveries = visible_deliveries(request)
    status = request.GET.get("status", "")
    if status in DeliveryStatus.values:
        deliveries = deliveries.filter(status=status)
    page = Paginator(deliveries.order_by("-id"), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "instances/notifications/delivery_list.html",
        {"page": page, "status": status, "statuses": DeliveryStatus.choices},
    )
