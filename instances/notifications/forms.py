from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import User

from instances.environments.permissions import visible_instances
from instances.models import Instance
from instances.notifications import safeurl
from instances.notifications.models import Endpoint, EventKind, Scope, Subscription


class SubscriptionForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=EventKind.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Approval requests reach only those who may approve.",
    )

    class Meta:
        model = Subscription
        fields = ["scope", "instance", "events", "by_email", "endpoint"]

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        instance_field = self.fields["instance"]
        assert isinstance(instance_field, forms.ModelChoiceField)
        instance_field.queryset = visible_instances(
            user, Instance.objects.select_related("repository")
        ).order_by("repository__name", "name")
        instance_field.help_text = "For “One instance” only."
        endpoint_field = self.fields["endpoint"]
        assert isinstance(endpoint_field, forms.ModelChoiceField)
        endpoint_field.queryset = Endpoint.objects.filter(owner=user)
        endpoint_field.help_text = "One of your webhook endpoints, or none."

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        scope, instance = cleaned.get("scope"), cleaned.get("instance")
        if scope == Scope.INSTANCE and instance is None:
            self.add_error("instance", "Choose the instance to hear about.")
        if scope != Scope.INSTANCE:
            cleaned["instance"] = None
        if not cleaned.get("by_email") and cleaned.get("endpoint") is None:
            raise forms.ValidationError("Choose email, a webhook endpoint, or both.")
        if cleaned.get("by_email") and not self.user.email and cleaned.get("endpoint") is None:
            raise forms.ValidationError(
                "Your account has no email address; ask an admin to add one, or use a webhook."
            )
        return cleaned

    def save(self, commit: bool = True) -> Subscription:
        subscription: Subscription = super().save(commit=False)
        subscription.user = self.user
        subscription.instance = self.cleaned_data.get("instance")
        if commit:
            subscription.save()
        return subscription


class EndpointForm(forms.ModelForm):
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.example.com/…"}),
    )

    class Meta:
        model = Endpoint
        fields = ["name", "url", "format"]

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        try:
            safeurl.check(url)
        except safeurl.UnsafeURL as exc:
            raise forms.ValidationError(str(exc)) from None
        return url
