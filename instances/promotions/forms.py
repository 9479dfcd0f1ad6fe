"""Forms of the promotion pages: requesting, filtering, and resolving conflicts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django import forms
from django.db.models import QuerySet

from branching.models import Collection, Feature
from instances.deployments.forms import TestClassesMixin
from instances.models import Instance, PromotionStatus, TestLevel
from instances.promotions.routing import route_label
from instances.promotions.rules import PromotionError, Route, route_to
from instances.promotions.steps import BINARY

QUEUE_ANYWAY = "Queue it anyway and resolve on the promotion page"


class PromotionRequestForm(TestClassesMixin, forms.Form):
    """Features (or a collection's) and a target. Only the offered choices are shown, but any
    feature key or instance is accepted and `route_to` says why a target cannot take them."""

    features = forms.ModelMultipleChoiceField(
        queryset=Feature.objects.select_related("repository"),
        to_field_name="key",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one feature."},
    )
    target = forms.ModelChoiceField(
        queryset=Instance.objects.select_related("repository", "parent"),
        error_messages={"required": "Choose where to promote to."},
    )
    collection = forms.ModelChoiceField(
        queryset=Collection.objects.all(), required=False, widget=forms.HiddenInput
    )
    test_level = forms.ChoiceField(
        choices=[("", "The target's default"), *TestLevel.choices],
        required=False,
        help_text="Apex tests the deployment to the target's org runs.",
    )
    run_tests = forms.CharField(
        required=False,
        label="Test classes",
        help_text="For specified tests: comma-separated Apex test classes (default: the test "
        "classes in the delta).",
    )
    queue_anyway = forms.BooleanField(required=False, label=QUEUE_ANYWAY)

    def __init__(
        self,
        *args: Any,
        offered_features: Sequence[Feature],
        offered_targets: Sequence[tuple[Instance, Route | None]],
        allowed_targets: QuerySet[Instance] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if allowed_targets is not None:
            # Only instances the user may promote into are accepted (instances.permissions).
            self.fields["target"].queryset = allowed_targets  # type: ignore[attr-defined]
        self.conflicts: dict[str, list[str]] = {}  # feature key → paths, from the dry run
        self.order = {f.key: n for n, f in enumerate(offered_features)}
        self.fields["features"].widget.choices = [
            (f.key, f"{f.key} {f.title}") for f in offered_features
        ]
        self.fields["target"].widget.choices = [
            ("", "Choose a target"),
            *((i.pk, route_label(i, r)) for i, r in offered_targets),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        features, target = data.get("features"), data.get("target")
        if features and target is not None:
            # Merge in the order the features were offered (a collection's order).
            ordered = sorted(
                features, key=lambda f: (self.order.get(f.key, len(self.order)), f.key)
            )
            data["features"] = ordered
            try:
                data["route"] = route_to(ordered, target)
            except PromotionError as exc:
                self.add_error("target", exc.messages)
        level = data.get("test_level")
        if target is not None and level and level not in target.allowed_test_levels:
            self.add_error(
                "test_level",
                f"{target.name} is production: its org refuses deployments without tests.",
            )
        return data

    def report_conflicts(self, conflicts: dict[str, list[str]]) -> None:
        """Show the dry run's conflicts and ask, with a required box, to queue it anyway."""
        self.conflicts = conflicts
        self.fields["queue_anyway"].widget.attrs["required"] = True
        self.add_error(
            "queue_anyway",
            "The dry run found conflicts. Tick the box to queue the promotion anyway and "
            "resolve them on its page, or change the features or the target.",
        )


class PromotionScopeForm(forms.Form):
    """Where to start a request from, when the page was opened without one (a GET form)."""

    feature = forms.CharField(required=False, label="Feature key")
    collection = forms.ModelChoiceField(
        queryset=Collection.objects.order_by("name"), required=False, empty_label="—"
    )
    target = forms.ModelChoiceField(
        queryset=Instance.objects.order_by("name"), required=False, empty_label="—"
    )


class PromotionFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Any status"), ("waiting", "Waiting or running"), *PromotionStatus.choices],
        required=False,
    )
    target = forms.ModelChoiceField(
        queryset=Instance.objects.order_by("name"), required=False, empty_label="Any target"
    )


_MARKER = re.compile(r"^(<{7}|>{7})(?: |$)", re.MULTILINE)


class ResolutionForm(forms.Form):
    """One textarea per conflicted path, prefilled with git's conflict-marked result.

    Fields are numbered, not named after paths: the paths come from the promotion, never from
    the request, so a resolution can only be given for a path that really conflicted.
    """

    def __init__(self, *args: Any, conflicts: Sequence[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.conflicts = list(conflicts)
        self.entries: list[tuple[dict[str, Any], str | None]] = []
        for n, conflict in enumerate(self.conflicts):
            sides = [conflict.get(k) for k in ("base", "ours", "theirs", "result")]
            if BINARY in sides:
                self.entries.append((conflict, None))
                continue
            name = f"resolution_{n}"
            initial = next((s for s in sides[::-1] if s is not None), "")
            self.fields[name] = forms.CharField(
                label=f"Resolved content of {conflict.get('path', '')}",
                required=False,
                strip=False,
                initial=initial,
                widget=forms.Textarea(
                    attrs={"rows": min(30, initial.count("\n") + 3), "spellcheck": "false"}
                ),
            )
            self.entries.append((conflict, name))

    @property
    def rows(self) -> list[tuple[dict[str, Any], forms.BoundField | None]]:
        return [(c, self[name] if name else None) for c, name in self.entries]

    @property
    def can_resolve(self) -> bool:
        return bool(self.fields)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for conflict, name in self.entries:
            if name is None or name not in data:
                continue
            text = str(data[name]).replace("\r\n", "\n")  # browsers send CRLF from textareas
            if any("\r\n" in (conflict.get(k) or "") for k in ("ours", "theirs")):
                text = text.replace("\n", "\r\n")
            if _MARKER.search(text):
                self.add_error(
                    name,
                    "This still contains conflict markers (<<<<<<< or >>>>>>>): keep the "
                    "lines you want and delete the markers.",
                )
            data[name] = text
        return data

    def resolutions(self) -> dict[str, str]:
        return {
            str(conflict["path"]): self.cleaned_data[name]
            for conflict, name in self.entries
            if name is not None
        }
