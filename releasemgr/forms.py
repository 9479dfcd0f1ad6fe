"""Form pieces shared by the apps' forms and the admin."""

from typing import Any

from django import forms
from django.db.models import Model

from releasemgr.models import Scope


class _WriteOnlyTextarea(forms.Textarea):
    """A textarea that never renders a value: a submitted private key does not come back in
    the page when the form has an error."""

    def format_value(self, value: Any) -> None:
        return None


class WriteOnlySecretsMixin:
    """Secrets are typed in, stored encrypted, and never shown again.

    Each field named in `secret_fields` renders empty, on every path (a first view, an edit, a
    form sent back with errors); leaving it blank on an edit keeps the stored value, so a form
    can be re-saved without retyping every secret — unless a field named in `secrets_bound_to`
    changed (where the secrets are sent, or whose they are): then the stored secrets are
    dropped, so they never follow a record to a new host, and a form error asks for the ones
    still needed.
    """

    secret_fields: tuple[str, ...] = ()
    multiline_secrets: tuple[str, ...] = ()
    secrets_bound_to: tuple[str, ...] = ()

    instance: Model
    fields: dict[str, forms.Field]
    initial: Any
    cleaned_data: dict[str, Any]
    changed_data: list[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.secret_fields:
            if name not in self.fields:
                continue
            field = self.fields[name]
            widget: forms.Widget
            if name in self.multiline_secrets:
                widget = _WriteOnlyTextarea(
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

    def secret_needed(self, name: str, cleaned: dict[str, Any]) -> bool:
        """Whether the record still needs the secret `name` once its stored value is dropped."""
        return True

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()  # type: ignore[misc]
        moved = [name for name in self.secrets_bound_to if name in self.changed_data]
        for name in self.secret_fields:
            if name not in cleaned or cleaned[name] or not self.instance.pk:
                continue
            stored = getattr(self.instance, name)
            if not moved:
                cleaned[name] = stored
            elif stored and self.secret_needed(name, cleaned):
                changed = " and ".join(_label(self, field) for field in moved)
                self.add_error(  # type: ignore[attr-defined]
                    name,
                    f"The {changed} changed, so the stored {_label(self, name)} was dropped "
                    "(it is never sent to a new place): type it again.",
                )
        return cleaned


def _label(form: Any, name: str) -> str:
    field = form.fields.get(name)
    label = str(field.label if field is not None and field.label else name.replace("_", " "))
    return label if label[:2].isupper() else label[:1].lower() + label[1:]


class AccessTokenForm(forms.Form):
    """A new personal access token: the user's own settings page and the admin share it."""

    name = forms.CharField(
        max_length=60, help_text="What will use it, e.g. “ci-main”; the audit trail names it."
    )
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[Scope.READ],
        help_text="Every scope includes reading. A token never does more than its user may.",
    )
    expires_in_days = forms.IntegerField(
        label="Expires after (days)",
        required=False,
        min_value=1,
        max_value=3650,
        initial=90,
        help_text="Leave blank for a token that does not expire.",
    )
