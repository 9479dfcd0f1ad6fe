"""Form pieces shared by the apps' forms and the admin."""

from typing import Any

from django import forms
from django.db.models import Model


class WriteOnlySecretsMixin:
    """Secrets are typed in, stored encrypted, and never shown again.

    Each field named in `secret_fields` renders empty; leaving it blank on an edit keeps the
    stored value, so a form can be re-saved without retyping every secret.
    """

    secret_fields: tuple[str, ...] = ()
    multiline_secrets: tuple[str, ...] = ()

    instance: Model
    fields: dict[str, forms.Field]
    initial: Any
    cleaned_data: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.secret_fields:
            if name not in self.fields:
                continue
            field = self.fields[name]
            widget: forms.Widget
            if name in self.multiline_secrets:
                widget = forms.Textarea(
                    attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false"}
                )
            else:
                widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
            field.widget = widget
            field.required = False
            self.initial[name] = ""
            if self.instance.pk and getattr(self.instance, name):
                field.help_text = "Stored encrypted. Leave blank to keep the current value."
            else:
                field.help_text = "Stored encrypted; never shown again."

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()  # type: ignore[misc]
        for name in self.secret_fields:
            if name in cleaned and not cleaned[name] and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        return cleaned
