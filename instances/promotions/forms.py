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
from instances.promotions import conflicts as conflict_text
from instances.promotions.conflicts import Resolution
from instances.promotions.errors import PromotionError
from instances.promotions.routing import Route, route_label, route_to

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
EDIT = ""  # the take choice that means "the text below"


class ResolutionForm(forms.Form):
    """Per conflicted path: a textarea prefilled with git's conflict-marked result, when the
    path's text is complete valid UTF-8 (`conflicts.is_editable`), and a choice to take one
    side whole, which is the only way to resolve a path that cannot be edited here.

    Fields are numbered, not named after paths: the paths come from the promotion, never from
    the request, so a resolution can only be given for a path that really conflicted.
    """

    def __init__(self, *args: Any, conflicts: Sequence[dict[str, Any]], **kwargs: Any) -> None:
        self.target_name = kwargs.pop("target_name", "the target")
        partial = kwargs.pop("partial", False)  # the API resolves only the paths it names
        super().__init__(*args, **kwargs)
        self.conflicts = list(conflicts)
        # (conflict, textarea field name or None, take field name or None)
        self.entries: list[tuple[dict[str, Any], str | None, str | None]] = []
        for n, conflict in enumerate(self.conflicts):
            path = conflict.get("path", "")
            name = take_name = None
            editable = conflict_text.is_editable(conflict)
            if editable:
                name = f"resolution_{n}"
                sides = [conflict.get(k) for k in conflict_text.SIDES]
                initial = next((s for s in sides[::-1] if s is not None), "")
                self.fields[name] = forms.CharField(
                    label=f"Resolved content of {path}",
                    required=False,
                    strip=False,
                    initial=initial,
                    widget=forms.Textarea(
                        attrs={"rows": min(30, initial.count("\n") + 3), "spellcheck": "false"}
                    ),
                )
            choices = conflict_text.take_choices(conflict)
            if choices:
                take_name = f"take_{n}"
                labels = {
                    "ours": f"Take ours whole ({self.target_name})",
                    "theirs": "Take theirs whole (the feature)",
                }
                options = [(EDIT, "Edit the text")] if editable else []
                self.fields[take_name] = forms.ChoiceField(
                    label=f"How to resolve {path}",
                    choices=options + [(side, labels[side]) for side in choices],
                    required=not editable and not partial,
                    initial=EDIT if editable else None,
                    widget=forms.RadioSelect,
                    help_text=""
                    if editable
                    else f"It cannot be edited here: {conflict_text.why_not_editable(conflict)}. "
                    "Taking a side writes its file exactly as it is.",
                    error_messages={
                        "required": f"Choose a side for {path}: "
                        f"{conflict_text.why_not_editable(conflict)}, so it cannot be edited here."
                    },
                )
            self.entries.append((conflict, name, take_name))

    @property
    def rows(self) -> list[tuple[dict[str, Any], forms.BoundField | None]]:
        """(conflict, its textarea or None) per path."""
        return [(c, self[name] if name else None) for c, name, _ in self.entries]

    @property
    def sections(
        self,
    ) -> list[tuple[dict[str, Any], forms.BoundField | None, forms.BoundField | None]]:
        """(conflict, its textarea or None, its take-one-side choice or None) per path."""
        return [
            (c, self[name] if name else None, self[take] if take else None)
            for c, name, take in self.entries
        ]

    @property
    def can_resolve(self) -> bool:
        return bool(self.fields)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for conflict, name, take_name in self.entries:
            if take_name and data.get(take_name):
                data[take_name] = conflict_text.take(conflict, data[take_name])
                continue
            if name is None or name not in data:
                continue
            text = str(data[name]).replace("\r\n", "\n")  # browsers send CRLF from textareas
            eol = conflict.get("eol") or (
                "\r\n"
                if any("\r\n" in (conflict.get(k) or "") for k in ("ours", "theirs"))
                else "\n"
            )
            if eol == "\r\n":
                text = text.replace("\n", "\r\n")
            if _MARKER.search(text):
                self.add_error(
                    name,
                    "This still contains conflict markers (<<<<<<< or >>>>>>>): keep the "
                    "lines you want and delete the markers.",
                )
            elif "\r" in text.replace("\r\n", "") or not _encodes(text):
                self.add_error(
                    name,
                    "This holds characters the file cannot keep as they are (a lone carriage "
                    "return or an unpaired surrogate): remove them, or take one side whole.",
                )
            data[name] = text
        return data

    def resolutions(self) -> dict[str, Resolution]:
        out: dict[str, Resolution] = {}
        for conflict, name, take_name in self.entries:
            path = str(conflict["path"])
            if take_name and self.cleaned_data.get(take_name):
                out[path] = self.cleaned_data[take_name]
            elif name is not None:
                out[path] = self.cleaned_data[name]
        return out


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class RollbackForm(forms.Form):
    """The explicit acknowledgement of what a rollback cannot undo (docs/rollback.md)."""

    acknowledge = forms.BooleanField(
        label="I understand what this rollback cannot undo, listed above.",
        error_messages={"required": "Acknowledge what the rollback cannot undo to go on."},
    )
