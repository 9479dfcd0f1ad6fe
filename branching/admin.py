from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from branching.forms import CollectionForm, RepositoryForm
from branching.models import Collection, Feature, Repository
from releasemgr.admin_input import GuardedInputAdmin


class CollectionAdminForm(CollectionForm):
    """The page's form (the features of a collection live in one git storage), with the
    admin's two-list widget for choosing them."""

    class Meta(CollectionForm.Meta):
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class RepositoryAdminForm(RepositoryForm):
    """The page's form (write-only remote secret), plus what `sfdx-project.json` provides."""

    class Meta(RepositoryForm.Meta):
        fields = [*RepositoryForm.Meta.fields, "package_directories", "source_api_version"]


@admin.register(Repository)
class RepositoryAdmin(GuardedInputAdmin):
    form = RepositoryAdminForm
    list_display = ["name", "main_branch", "is_long_term", "location", "source_format"]
    list_filter = ["is_long_term", "source_format"]
    search_fields = ["name", "remote_url", "storage", "main_branch"]
    readonly_fields = [
        "storage_key",
        "storage_bytes",
        "housekept_at",
        "housekeeping_summary",
        "created_at",
        "updated_at",
    ]


@admin.register(Feature)
class FeatureAdmin(GuardedInputAdmin):
    """Features are started in the app (which cuts their branch); here they are looked after."""

    list_display = ["key", "title", "repository", "branch", "owner", "started_from", "created_at"]
    list_filter = ["repository"]
    search_fields = ["key", "title", "branch"]
    list_select_related = ["repository", "owner", "started_from"]
    readonly_fields = ["repository", "branch", "base_commit", "created_at"]
    autocomplete_fields = ["started_from"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Collection)
class CollectionAdmin(GuardedInputAdmin):
    form = CollectionAdminForm
    list_display = ["name", "feature_count", "created_by", "created_at"]
    search_fields = ["name", "description", "features__key"]
    filter_horizontal = ["features"]
    readonly_fields = ["created_by", "created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Collection]:
        return super().get_queryset(request).annotate(n_features=Count("features"))

    @admin.display(description="features", ordering="n_features")
    def feature_count(self, obj: Collection) -> int:
        return int(getattr(obj, "n_features", 0))

    def save_model(self, request: HttpRequest, obj: Collection, form: Any, change: bool) -> None:
        if not change and request.user.is_authenticated:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
