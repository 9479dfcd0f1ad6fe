from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from instances.hooks.models import HookDelivery, RepositoryHook
from releasemgr.admin_input import GuardedInputAdmin


@admin.register(RepositoryHook)
class RepositoryHookAdmin(GuardedInputAdmin):
    """The secret is made on the repository's webhook page and never shown here."""

    list_display = ["repository", "created_at"]
    fields = ["repository", "created_at"]
    readonly_fields = ["repository", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(HookDelivery)
class HookDeliveryAdmin(GuardedInputAdmin):
    list_display = ["received_at", "repository", "provider", "event", "delivery_id", "status"]
    list_filter = ["provider", "status", "repository"]
    search_fields = ["delivery_id", "event"]
    list_select_related = ["repository"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
