from django import forms
from django.contrib import admin

from branching.models import Repository
from releasemgr.forms import WriteOnlySecretsMixin


class RepositoryAdminForm(WriteOnlySecretsMixin, forms.ModelForm):
    secret_fields = ("remote_secret",)

    class Meta:
        model = Repository
        fields = [
            "name",
            "description",
            "main_branch",
            "is_long_term",
            "remote_url",
            "storage",
            "remote_username",
            "remote_secret",
            "source_format",
            "package_directories",
            "source_api_version",
        ]


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin):
    form = RepositoryAdminForm
    list_display = ["name", "main_branch", "is_long_term", "location", "source_format"]
    list_filter = ["is_long_term", "source_format"]
    search_fields = ["name", "remote_url", "storage", "main_branch"]
    readonly_fields = ["storage_key", "created_at", "updated_at"]
