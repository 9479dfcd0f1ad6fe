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
from instances.salesforce import SOAP_LOGIN_RETIRED_IN, SOAP_LOGIN_RETIREMENT
from releasemgr.forms import WriteOnlySecretsMixin


class InstanceForm(forms.ModelForm):
    class Meta:
        model = Instance
        fields = [
            "name",
            "purpose",
            "org_type",
            "repository",
            "branch",
            "parent",
            "description",
            "test_level",
            "validate_first",
            "ignore_warnings",
        ]
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
        # Left out (an older client, a script): the instance's current settings, or the
        # defaults per org type (Instance.clean picks the local tests for production).
        for name in ("test_level", "ignore_warnings"):
            self.fields[name].required = False

    def clean_test_level(self) -> str:
        return self.cleaned_data.get("test_level") or self.instance.test_level

    def clean_ignore_warnings(self) -> str:
        return self.cleaned_data.get("ignore_warnings") or self.instance.ignore_warnings


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
            "client_secret",
            "sfdx_auth_url",
            "instance_url",
            "access_token",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["login_url"].widget = forms.TextInput(attrs={"list": "login-hosts"})
        self.fields["auth_method"].initial = AuthMethod.JWT
        self.fields["auth_method"].help_text = (
            "Username and password use SOAP login(), which Salesforce retires in its "
            f"{SOAP_LOGIN_RETIRED_IN} release; prefer JWT bearer, an SFDX auth URL or client "
            "credentials."
        )

    login_hosts = LOGIN_HOSTS
    soap_login_retirement = SOAP_LOGIN_RETIREMENT

    def secret_needed(self, name: str, cleaned: dict[str, Any]) -> bool:
        return name in SECRETS_OF_METHOD.get(cleaned.get("auth_method", ""), ())
