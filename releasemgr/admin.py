from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from releasemgr.models import AuditEvent
from releasemgr.throttle import ThrottledAdminAuthenticationForm

# The admin's login counts failures with the login page's (releasemgr/throttle.py).
admin.site.login_form = ThrottledAdminAuthenticationForm


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "action", "target_type", "target_repr"]
    list_filter = ["action", "target_type"]
    search_fields = ["target_repr", "actor__username"]
    date_hierarchy = "created_at"
    list_select_related = ["actor"]
    actions = None  # append-only: no "delete selected"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
