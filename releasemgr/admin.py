from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

from releasemgr import tokens
from releasemgr.admin_input import GuardedInputAdmin
from releasemgr.forms import AccessTokenForm
from releasemgr.models import AccessToken, AuditEvent, Job
from releasemgr.throttle import ThrottledAdminAuthenticationForm

# The admin's login counts failures with the login page's (releasemgr/throttle.py).
admin.site.login_form = ThrottledAdminAuthenticationForm

# Django's user and group admins, guarded against typed ids as the project's are.
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class GuardedUserAdmin(GuardedInputAdmin, UserAdmin):
    pass


@admin.register(Group)
class GuardedGroupAdmin(GuardedInputAdmin, GroupAdmin):
    pass


@admin.register(AuditEvent)
class AuditEventAdmin(GuardedInputAdmin):
    list_display = ["created_at", "actor", "via_token", "action", "target_type", "target_repr"]
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


class AccessTokenAddForm(forms.ModelForm):
    """An admin creates a token for any user; the token is shown once, on the next page."""

    scopes = AccessTokenForm.base_fields["scopes"]
    expires_in_days = AccessTokenForm.base_fields["expires_in_days"]

    class Meta:
        model = AccessToken
        fields = ["user", "name"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        user, name = cleaned.get("user"), (cleaned.get("name") or "").strip()
        if user and name and user.access_tokens.filter(name=name, revoked_at__isnull=True).exists():
            self.add_error("name", f"{user} already has a token named “{name}”.")
        return cleaned


@admin.register(AccessToken)
class AccessTokenAdmin(GuardedInputAdmin):
    list_display = ["name", "user", "prefix", "created_at", "expires_at", "last_used_at", "state"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["name", "user__username", "prefix"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    actions = ["revoke_selected"]
    readonly_fields = [
        "user",
        "name",
        "prefix",
        "scopes",
        "created_at",
        "expires_at",
        "last_used_at",
        "last_used_from",
        "revoked_at",
    ]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = AccessTokenAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["user", "name", "scopes", "expires_in_days"]
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            return  # nothing of a token is edited; revoke it instead
        data = form.cleaned_data
        try:
            token, raw = tokens.create_token(
                data["user"],
                data["name"],
                data["scopes"],
                data["expires_in_days"],
                by=request.user,  # type: ignore[arg-type]
            )
        except ValidationError as exc:
            # Checked already by the form; only a race with another admin gets here.
            raise PermissionDenied(" ".join(exc.messages)) from exc
        obj.pk = token.pk
        obj.refresh_from_db()
        request._new_access_token = raw  # type: ignore[attr-defined]

    def response_add(self, request: HttpRequest, obj: Any, post_url_continue: Any = None) -> Any:
        raw = getattr(request, "_new_access_token", "")
        response = TemplateResponse(
            request,
            "admin/releasemgr/accesstoken/created.html",
            {
                **self.admin_site.each_context(request),
                "token": obj,
                "raw": raw,
                "opts": self.opts,
                "title": f"Token “{obj.name}” created",
            },
        )
        add_never_cache_headers(response)
        return response

    @admin.display(description="state")
    def state(self, obj: AccessToken) -> str:
        return obj.state()

    @admin.action(description="Revoke the selected tokens")
    def revoke_selected(self, request: HttpRequest, queryset: Any) -> None:
        revoked = sum(tokens.revoke(token, request.user) for token in queryset)  # type: ignore[arg-type]
        self.message_user(request, f"{revoked} token(s) revoked.")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoked tokens stay, so the audit trail's "via token" keeps its meaning


@admin.register(Job)
class JobAdmin(GuardedInputAdmin):
    """Jobs are written by the views and the task cluster; the admin only reads them."""

    list_display = ["created_at", "title", "status", "requested_by", "finished_at"]
    list_filter = ["status"]
    search_fields = ["title", "message"]
    list_select_related = ["requested_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
