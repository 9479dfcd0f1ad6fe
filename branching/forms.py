from django import forms

from branching.models import Repository
from releasemgr.forms import WriteOnlySecretsMixin


class RepositoryForm(WriteOnlySecretsMixin, forms.ModelForm):
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
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
