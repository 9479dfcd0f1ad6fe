"""Forms of the access page: grants and the approval policy."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import Group, User

from instances.models import ApprovalPolicy, Capability, InstanceGrant


class GrantForm(forms.Form):
    capability = forms.ChoiceField(choices=Capability.choices)
    user = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("username"),
        required=False,
        empty_label="—",
        to_field_name="username",
    )
    group = forms.ModelChoiceField(
        queryset=Group.objects.order_by("name"), required=False, empty_label="—"
    )

    def __init__(self, *args: Any, instance_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance_id = instance_id

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        user, group = data.get("user"), data.get("group")
        if bool(user) == bool(group):
            raise forms.ValidationError("Choose one user or one group.")
        held = InstanceGrant.objects.filter(
            instance_id=self.instance_id, capability=data.get("capability")
        )
        if held.filter(user=user, group=group).exists():
            raise forms.ValidationError(f"{user or group} already holds this grant.")
        return data


class ApprovalPolicyForm(forms.ModelForm):
    class Meta:
        model = ApprovalPolicy
        fields = ["required_approvals", "approver_groups", "approver_users"]
        widgets = {
            "approver_groups": forms.CheckboxSelectMultiple,
            "approver_users": forms.SelectMultiple(attrs={"size": 6}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["approver_users"].queryset = User.objects.filter(  # type: ignore[attr-defined]
            is_active=True
        ).order_by("username")
        self.fields["approver_groups"].queryset = Group.objects.order_by("name")  # type: ignore[attr-defined]
        self.fields[
            "approver_users"
        ].help_text = "The requester and the last committer of a promoted feature never count."
