"""Forms of the feature pages: starting a feature from an instance, filtering the list."""

from __future__ import annotations

from typing import Any

from django import forms

from branching.features import reserved_branch_problem
from branching.models import Repository, validate_feature_key
from branching.refnames import validate_branch_name
from instances.models import Instance


def _instance_label(instance: Instance) -> str:
    return f"{instance.name} — {instance.branch} ({instance.repository.name})"


class FeatureStartForm(forms.Form):
    instance = forms.ModelChoiceField(
        queryset=Instance.objects.none(),
        label="Start from instance",
        help_text="The branch is cut from the main branch of this instance's repository; "
        "the feature enters the pipeline here.",
    )
    key = forms.CharField(
        max_length=50, validators=[validate_feature_key], help_text="For example RM-42."
    )
    title = forms.CharField(max_length=200)
    attach_branch = forms.CharField(
        label="Attach an existing branch",
        max_length=255,
        required=False,
        validators=[validate_branch_name],
        help_text="Leave empty to cut feature/<key>-<title> from the main branch.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = self.fields["instance"]
        assert isinstance(instance, forms.ModelChoiceField)
        instance.queryset = Instance.objects.select_related("repository").order_by(
            "repository__name", "name"
        )
        instance.label_from_instance = _instance_label  # type: ignore[method-assign,assignment]

    def clean_key(self) -> str:
        return str(self.cleaned_data["key"]).strip()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        instance, branch = cleaned.get("instance"), cleaned.get("attach_branch")
        if instance is not None and branch:
            from instances.promotions.features import environment_branches

            reserved = environment_branches(instance.repository)
            problem = reserved_branch_problem(instance.repository, branch, reserved)
            if problem:
                self.add_error("attach_branch", problem)
        return cleaned


class FeatureFilterForm(forms.Form):
    repository = forms.ModelChoiceField(
        queryset=Repository.objects.order_by("name"),
        required=False,
        empty_label="All repositories",
    )
    owner = forms.ChoiceField(
        choices=[("", "Anyone's"), ("mine", "Mine")], required=False, label="Owner"
    )
    instance = forms.ModelChoiceField(
        queryset=Instance.objects.order_by("name"),
        required=False,
        empty_label="Anywhere",
        label="Present in",
    )
    q = forms.CharField(required=False, label="Search")
