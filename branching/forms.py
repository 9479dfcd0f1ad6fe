from typing import Any

from django import forms

from branching.models import Collection, Feature, Repository
from releasemgr.forms import WriteOnlySecretsMixin


class RepositoryForm(WriteOnlySecretsMixin, forms.ModelForm):
    secret_fields = ("remote_secret",)
    # Where the secret goes and whose it is: a change here drops the stored secret.
    secrets_bound_to = ("remote_url", "remote_username")

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
