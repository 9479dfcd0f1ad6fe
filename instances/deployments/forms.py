"""The standalone deploy form: redeploy a commit (or a delta) to an instance's org."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from instances.environments.windows import closure_of
from instances.models import DeploymentKind, Instance, TestLevel

_CLASS_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class TestClassesMixin:
    """A `run_tests` field of comma-separated Apex test classes, only with specified tests."""

    __test__ = False  # not a pytest test class
    cleaned_data: dict[str, Any]

    def clean_run_tests(self) -> list[str]:
        names = [n.strip() for n in self.cleaned_data["run_tests"].split(",") if n.strip()]
        if bad := [n for n in names if not _CLASS_NAME.match(n)]:
            raise forms.ValidationError(f"Not an Apex class name: {', '.join(bad)}.")
        return names

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}  # type: ignore[misc]
        if cleaned.get("run_tests") and cleaned.get("test_level") != TestLevel.RUN_SPECIFIED_TESTS:
            self.add_error(  # type: ignore[attr-defined]
                "run_tests", "Test classes are only run with “Specified tests”."
            )
        return cleaned


class StandaloneDeployForm(TestClassesMixin, forms.Form):
    revision = forms.CharField(
        help_text="What to deploy: a branch, a commit id, or `main~2`. Defaults to the "
        "instance's branch."
    )
    from_revision = forms.CharField(
        required=False,
        label="Only the changes since",
        help_text="Leave empty to deploy every component of the revision (a full package).",
    )
    kind = forms.ChoiceField(
        choices=[(DeploymentKind.DEPLOY, "Deploy"), (DeploymentKind.VALIDATE, "Validate only")]
    )
    test_level = forms.ChoiceField(choices=TestLevel.choices)
    run_tests = forms.CharField(
        required=False,
        label="Test classes",
        help_text="For specified tests: comma-separated Apex test classes (default: the test "
        "classes in the package).",
    )

    override_justification = forms.CharField(
        required=False,
        label="Emergency override",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The instance is closed. A release manager who manages it may deploy anyway: "
        "say why this cannot wait (recorded, and its subscribers are told). A validation "
        "needs none.",
    )

    def __init__(self, *args: Any, instance: Instance, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["revision"].initial = instance.branch
        self.fields["test_level"].initial = instance.test_level
        self.closure = closure_of(instance)
        if self.closure is None:
            del self.fields["override_justification"]
        field = self.fields["test_level"]
        assert isinstance(field, forms.ChoiceField)
        # A production org refuses NoTestRun: it is not offered.
        field.choices = [c for c in TestLevel.choices if c[0] in instance.allowed_test_levels]
