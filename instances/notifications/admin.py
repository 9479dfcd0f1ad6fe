from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from instances.notifications.forms import EndpointForm
from instances.notifications.models import Delivery, Endpoint, Event, Subscription
from releasemgr.admin_input import GuardedInputAdmin


class ReadOnlyAdmin(GuardedInputAdmin):
    """A record of what happened: admins read it, nobody rewrites it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Endpoint)
class EndpointAdmin(GuardedInputAdmin):
    list_display = ["name", "owner", "format", "url", "created_at"]
    list_filter = ["format"]
    search_fields = ["name", "url", "owner__username"]
    list_select_related = ["owner"]
    # The signing secret is shown once to its owner, never here.
    fields = ["owner", "name", "url", "format"]
    readonly_fields = ["owner"]
    # The page's form: the same check of where a webhook may post (no loopback, no private
    # network), and https assumed for a URL typed without a scheme.
    form = EndpointForm

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Its owner adds an endpoint on the notifications page, which makes the signing
        # secret and shows it once; one added here would have none.
        return False


@admin.register(Subscription)
class SubscriptionAdmin(GuardedInputAdmin):
    list_display = ["user", "scope", "instance", "by_email", "endpoint", "created_at"]
    list_filter = ["scope", "by_email"]
    search_fields = ["user__username"]
    list_select_related = ["user", "instance", "endpoint"]


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = ("channel", "display_recipient", "status", "attempts", "response_status", "last_error")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "title"]
    list_filter = ["kind"]
    search_fields = ["title", "key"]
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "channel", "display_recipient", "status", "attempts"]
    list_filter = ["status", "channel"]
    search_fields = ["event__title"]
    list_select_related = ["event"]
    exclude = ["recipient"]
