from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from instances.models import SECRET_FIELDS, Instance, OrgConnection
from releasemgr.forms import WriteOnlySecretsMixin


class OrgConnectionAdminForm(WriteOnlySecretsMixin, forms.ModelForm):
    secret_fields = SECRET_FIELDS
    multiline_secrets = ("private_key",)

    class Meta:
        model = OrgConnection
        fields = [
            "instance",
            "is_active",
            "auth_method",
            "login_url",
            "username",
            "password",
            "security_token",
            "consumer_key",
            "private_key",
            "sfdx_auth_url",
            "instance_url",
            "access_token",
            "expires_on",
            "retired_at",
        ]


class OrgConnectionInline(admin.StackedInline):
    model = OrgConnection
    form = OrgConnectionAdminForm
    extra = 0
    fields = [
        "is_active",
        "auth_method",
        "login_url",
        "username",
        "password",
        "security_token",
        "consumer_key",
        "private_key",
        "sfdx_auth_url",
        "instance_url",
        "access_token",
        "org_id",
        "expires_on",
        "retired_at",
    ]
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
class InstanceAdmin(admin.ModelAdmin):
    list_display = ["name", "repository", "branch", "purpose", "org_type", "parent"]
    list_filter = ["purpose", "org_type", "repository"]
    search_fields = ["name", "branch", "description"]
    list_select_related = ["repository", "parent"]
    autocomplete_fields = ["parent"]
    inlines = [OrgConnectionInline, ChildInline]


@admin.register(OrgConnection)
class OrgConnectionAdmin(admin.ModelAdmin):
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
