"""Release control in the admin: grants, approval policies, windows, freezes, and the emergency
overrides (read-only: they are the record of what happened)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from instances.models import ApprovalPolicy, DeploymentWindow, Freeze, InstanceGrant, WindowOverride
from releasemgr.admin_input import GuardedInputAdmin


@admin.register(InstanceGrant)
class InstanceGrantAdmin(GuardedInputAdmin):
    list_display = ["instance", "capability", "user", "group", "created_by", "created_at"]
    list_filter = ["capability", "instance"]
    search_fields = ["instance__name", "user__username", "group__name"]
    autocomplete_fields = ["instance"]
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(GuardedInputAdmin):
    list_display = ["instance", "required_approvals", "updated_at"]
    filter_horizontal = ["approver_groups", "approver_users"]
    autocomplete_fields = ["instance"]


@admin.register(DeploymentWindow)
class DeploymentWindowAdmin(GuardedInputAdmin):
    list_display = ["__str__", "kind", "instance", "repository", "rule", "time_zone", "duration"]
    list_filter = ["kind"]
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(Freeze)
class FreezeAdmin(GuardedInputAdmin):
    list_display = ["__str__", "instance", "repository", "starts_at", "ends_at", "lifted_at"]
    readonly_fields = ["created_by", "lifted_by"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(WindowOverride)
class WindowOverrideAdmin(GuardedInputAdmin):
    list_display = ["promotion", "user", "at"]
    readonly_fields = ["promotion", "user", "justification", "closed_because", "at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
