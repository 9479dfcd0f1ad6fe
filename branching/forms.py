from typing import Any

from django import forms

from branching.git.transport import RemoteRefused, display_url, parse_remote_url
from branching.models import Collection, Feature, Repository
from releasemgr.forms import WriteOnlySecretsMixin
from releasemgr.ids import ModelMultipleChoiceField


class RepositoryForm(WriteOnlySecretsMixin, forms.ModelForm):
    secret_fields = ("remote_secret",)
    # Where the secret goes and whose it is: a change here drops the stored secret.
    secrets_bound_to = ("remote_url", "remote_username")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stored = getattr(self.instance, "remote_url", "")
        if stored:  # a URL stored with credentials is shown without them
            self.initial["remote_url"] = display_url(stored)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        url = cleaned.get("remote_url") or ""
        secret = cleaned.get("remote_secret")
        if url and secret and _is_ssh(url):
            self.add_error(
                "remote_secret",
                "ssh remotes sign in with the server's key (GIT_SSH_KEY_FILE), not a password; "
                "leave the secret empty, or use an https:// URL.",
            )
        return cleaned

    class Meta:
        model = Repository
        fields = [
            "name",
            "description",
            "main_branch",
            "is_long_term",
            "remote_url",
            "storage",
            "remote_username",
            "remote_secret",
            "source_format",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


def _is_ssh(url: str) -> bool:
    try:
        return parse_remote_url(url).scheme == "ssh"
    except RemoteRefused:
        return False  # the URL's own validator says what is wrong with it


class CollectionForm(forms.ModelForm):
    """A release: features of one git storage, promoted together."""

    class Meta:
        model = Collection
        fields = ["name", "description", "features"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "features": forms.SelectMultiple(attrs={"size": 12}),
        }
        help_texts = {"features": "Features promoted together must live in one git storage."}
        field_classes = {"features": ModelMultipleChoiceField}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        features = self.fields["features"]
        assert isinstance(features, forms.ModelMultipleChoiceField)
        features.queryset = Feature.objects.select_related("repository").order_by("key")
        features.label_from_instance = lambda obj: (  # type: ignore[method-assign]
            f"{obj.key} {obj.title} ({obj.repository.name})"
        )

    def clean_features(self) -> Any:
        features = self.cleaned_data["features"]
        storages = {f.repository.storage_key for f in features}
        if len(storages) > 1:
            raise forms.ValidationError(
                "These features live in different git storages; a promotion brings features of "
                "one storage only."
            )
        return features
