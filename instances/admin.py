from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from instances.environments.forms import OrgConnectionForm
from instances.models import (
    Approval,
    Deployment,
    FeaturePresence,
    Instance,
    OrgConnection,
    Promotion,
    PromotionFeature,
    PromotionLog,
    RecordedResolution,
)
from instances.promotions.conflicts import shown_text
from instances.promotions.recorded import forget
from releasemgr.admin_input import GuardedInputAdmin


class OrgConnectionAdminForm(OrgConnectionForm):
    """The page's form (write-only secrets), plus what only an admin edits."""

    class Meta(OrgConnectionForm.Meta):
        fields = [
            "instance",
            "is_active",
            *OrgConnectionForm.Meta.fields,
            "expires_on",
            "retired_at",
        ]


class OrgConnectionInline(admin.StackedInline):
    model = OrgConnection
    form = OrgConnectionAdminForm
    extra = 0
    fields = (*(f for f in OrgConnectionAdminForm.Meta.fields if f != "instance"), "org_id")
    readonly_fields = ["org_id"]


class ChildInline(admin.TabularInline):
    model = Instance
    fk_name = "parent"
    fields = ("name", "purpose", "org_type", "branch")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name = "child"
    verbose_name_plural = "children (they promote to this instance)"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Instance)
class InstanceAdmin(GuardedInputAdmin):
    list_display = ["name", "repository", "branch", "purpose", "org_type", "parent"]
    list_filter = ["purpose", "org_type", "repository"]
    search_fields = ["name", "branch", "description"]
    list_select_related = ["repository", "parent"]
    autocomplete_fields = ["parent"]
    inlines = [OrgConnectionInline, ChildInline]


@admin.register(OrgConnection)
class OrgConnectionAdmin(GuardedInputAdmin):
    form = OrgConnectionAdminForm
    list_display = [
        "instance",
        "auth_method",
        "username",
        "login_url",
        "org_id",
        "is_active",
        "created_at",
    ]
    list_filter = ["auth_method", "is_active", "detected_org_type"]
    search_fields = ["instance__name", "username", "org_id", "login_url"]
    list_select_related = ["instance"]
    readonly_fields = [
        "org_id",
        "detected_org_type",
        "api_limits",
        "last_checked_at",
        "last_check_error",
        "created_by",
        "created_at",
    ]


class PromotionFeatureInline(admin.TabularInline):
    model = PromotionFeature
    fields = ("position", "feature", "commit")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = "feature"
    verbose_name_plural = "features (in merge order)"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ApprovalInline(admin.TabularInline):
    model = Approval
    fields = ("at", "user", "decision", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PromotionLogInline(admin.TabularInline):
    """The execution log, as the engine and the people involved wrote it: read-only."""

    model = PromotionLog
    fields = ("at", "step", "level", "actor", "message", "from_commit", "to_commit")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "execution log"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Promotion)
class PromotionAdmin(GuardedInputAdmin):
    """Promotions change state through the app and the engine only (every change is logged
    with its actor), so here everything is read-only."""

    list_display = ["id", "status", "direction", "source", "target", "requested_by", "requested_at"]
    list_filter = ["status", "direction", "target"]
    search_fields = ["=id", "items__feature__key", "target__name", "source__name"]
    list_select_related = ["source", "target", "requested_by"]
    inlines = [PromotionFeatureInline, ApprovalInline, PromotionLogInline]
    readonly_fields = (
        "target",
        "source",
        "direction",
        "rollback_of",
        "collection",
        "status",
        "step",
        "attempt",
        "requested_by",
        "requested_at",
        "started_at",
        "finished_at",
        "target_head_before",
        "temp_branch",
        "merged_head",
        "target_head_after",
        "failure_reason",
        "conflicts",
        "resolutions",
        "auto_resolutions",
        "claimed_by",
        "lease_until",
    )
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(RecordedResolution)
class RecordedResolutionAdmin(GuardedInputAdmin):
    """Recorded by the merge step when a promotion merges with a resolution given on its page;
    read-only here. Deleting one forgets it (recorded in the audit trail, as on its page)."""

    list_display = ["path", "short_id", "repository", "made_by", "promotion", "made_at"]
    list_filter = ["repository"]
    search_fields = ["path", "conflict_id"]
    list_select_related = ["repository", "made_by", "promotion__target"]
    readonly_fields = (
        "repository",
        "path",
        "conflict_id",
        "made_by",
        "promotion",
        "made_at",
        "last_used_at",
        "times_used",
        "preimage_text",
        "postimage_text",
    )
    fields = readonly_fields

    @admin.display(description="Conflict")
    def short_id(self, obj: RecordedResolution) -> str:
        return obj.conflict_id[:10]

    @admin.display(description="Conflict, normalised (preimage)")
    def preimage_text(self, obj: RecordedResolution) -> str:
        return format_html("<pre>{}</pre>", shown_text(bytes(obj.preimage))[0])

    @admin.display(description="Resolution (postimage)")
    def postimage_text(self, obj: RecordedResolution) -> str:
        return format_html("<pre>{}</pre>", shown_text(bytes(obj.postimage))[0])

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: RecordedResolution) -> None:
        forget(obj, request.user)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[RecordedResolution]) -> None:
        for obj in queryset.select_related("repository"):
            forget(obj, request.user)  # type: ignore[arg-type]


@admin.register(FeaturePresence)
class FeaturePresenceAdmin(GuardedInputAdmin):
    list_display = ["feature", "instance", "commit", "promotion", "at"]
    list_filter = ["instance"]
    search_fields = ["feature__key", "feature__title", "instance__name", "commit"]
    list_select_related = ["feature", "instance", "promotion__target"]
    autocomplete_fields = ["feature", "instance"]
    readonly_fields = ["promotion", "at"]


@admin.register(Deployment)
class DeploymentAdmin(GuardedInputAdmin):
    """Deployments are started by promotions and the deploy page and record what the org said:
    read-only here."""

    list_display = ["id", "kind", "instance", "status", "test_level", "sf_deploy_id", "created_at"]
    list_filter = ["status", "kind", "test_level", "instance"]
    search_fields = ["=id", "sf_deploy_id", "instance__name", "to_commit"]
    list_select_related = ["instance"]
    date_hierarchy = "created_at"
    readonly_fields = (
        "instance",
        "org_connection",
        "promotion",
        "kind",
        "validation",
        "test_level",
        "run_tests",
        "from_commit",
        "to_commit",
        "status",
        "sf_deploy_id",
        "components_deployed",
        "components_total",
        "component_errors",
        "tests_completed",
        "tests_total",
        "test_errors",
        "component_failures",
        "test_failures",
        "ignore_warnings",
        "warnings",
        "coverage",
        "coverage_warnings",
        "failure_reason",
        "error_message",
        "artifact",
        "package_summary",
        "requested_by",
        "created_at",
        "finished_at",
    )
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


from instances import admin_control  # noqa: E402, F401  (grants, policies, windows, freezes)
