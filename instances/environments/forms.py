from typing import Any

from django import forms

from branching.models import Repository
from instances.models import (
    LOGIN_HOSTS,
    SECRET_FIELDS,
    SECRETS_OF_METHOD,
    AuthMethod,
    Instance,
    OrgConnection,
    Purpose,
)
from releasemgr.forms import WriteOnlySecretsMixin


class InstanceForm(forms.ModelForm):
    class Meta:
        model = Instance
        fields = ["name", "purpose", "org_type", "repository", "branch", "parent", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parents = Instance.objects.select_related("repository").order_by("repository__name", "name")
        if self.instance.pk:
            parents = parents.exclude(pk=self.instance.pk)
        parent_field = self.fields["parent"]
        assert isinstance(parent_field, forms.ModelChoiceField)
        parent_field.queryset = parents
        parent_field.label_from_instance = lambda obj: (  # type: ignore[method-assign]
            f"{obj.name} — {obj.branch} ({obj.repository.name})"
        )


class ReparentForm(forms.ModelForm):
    """Move an instance under another parent (or make it a root)."""

    class Meta:
        model = Instance
        fields = ["parent"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parent_field = self.fields["parent"]
        assert isinstance(parent_field, forms.ModelChoiceField)
        parent_field.queryset = (
            Instance.objects.filter(storage_key=self.instance.storage_key)
            .exclude(pk=self.instance.pk)
            .order_by("name")
        )
        parent_field.empty_label = "— none (a root of the hierarchy) —"


class InstanceFilterForm(forms.Form):
    repository = forms.ModelChoiceField(
        queryset=Repository.objects.order_by("name"),
        required=False,
        empty_label="All repositories",
    )
    purpose = forms.ChoiceField(choices=[("", "All purposes"), *Purpose.choices], required=False)
    q = forms.CharField(required=False, label="Search")


class OrgConnectionForm(WriteOnlySecretsMixin, forms.ModelForm):
    secret_fields = SECRET_FIELDS
    multiline_secrets = ("private_key",)
    # Where the secrets go and whose they are: a change here drops every stored secret.
    secrets_bound_to = ("login_url", "instance_url", "auth_method", "username")

    class Meta:
        model = OrgConnection
        fields = [
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
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["login_url"].widget = forms.TextInput(attrs={"list": "login-hosts"})
        self.fields["auth_method"].initial = AuthMethod.PASSWORD

    login_hosts = LOGIN_HOSTS

    def secret_needed(self, name: str, cleaned: dict[str, Any]) -> bool:
        return name in SECRETS_OF_METHOD.get(cleaned.get("auth_method", ""), ())
