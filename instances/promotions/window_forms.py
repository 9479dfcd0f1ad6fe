"""Forms of the windows and freezes page, and of the emergency override."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone

from instances.models import DeploymentWindow


class WindowForm(forms.ModelForm):
    """`starts` is typed as a wall-clock time in the window's own time zone."""

    starts = forms.DateTimeField(
        help_text="The first occurrence, in the window's time zone (YYYY-MM-DD HH:MM).",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    class Meta:
        model = DeploymentWindow
        fields = ["kind", "label", "rule", "starts", "time_zone", "duration"]
        help_texts = {"duration": "HH:MM:SS, or DD HH:MM:SS for days."}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        starts, zone = data.get("starts"), data.get("time_zone")
        if starts is not None and zone:
            try:
                wall = timezone.make_naive(starts) if timezone.is_aware(starts) else starts
                data["starts"] = wall.replace(tzinfo=ZoneInfo(zone))
                self.instance.starts = data["starts"]
            except (ValueError, KeyError):
                pass  # the time zone's own validator names the problem
        return data


class FreezeForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    ends_at = forms.DateTimeField(
        required=False,
        label="Until",
        help_text="Empty: until someone lifts it.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def clean_reason(self) -> str:
        reason = str(self.cleaned_data["reason"]).strip()
        if not reason:
            raise forms.ValidationError("Say why.")
        return reason

    def clean_ends_at(self) -> Any:
        ends = self.cleaned_data["ends_at"]
        if ends is not None and ends <= timezone.now():
            raise forms.ValidationError("The end of a freeze lies in the future.")
        return ends


class OverrideForm(forms.Form):
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        help_text="Recorded in the promotion's log and the audit trail, and sent as a notice.",
    )

    def clean_justification(self) -> str:
        text = str(self.cleaned_data["justification"]).strip()
        if len(text) < 10:
            raise forms.ValidationError("Write why this cannot wait (at least a sentence).")
        return text
