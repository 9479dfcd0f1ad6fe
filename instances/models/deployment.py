"""Deployments: the Salesforce side of a promotion (or a standalone redeploy to repair an org).

A deployment row is written *before* the org is asked to deploy and gets the org's deploy id
as soon as it has one, so a worker that dies while waiting resumes polling that deployment
instead of deploying a second time (docs/design.md, invariant 4).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse

from instances.models.hierarchy import Instance, OrgConnection, TestLevel


class DeploymentStatus(models.TextChoices):
    BUILDING = "building", "Building the package"
    STARTING = "starting", "Starting"
    IN_PROGRESS = "in_progress", "In progress"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"  # the org refused: component errors, test failures
    CANCELLED = "cancelled", "Cancelled"
    ERRORED = "errored", "Errored"  # we could not finish: unreachable org, timeout


DEPLOYMENT_TERMINAL = frozenset(
    {
        DeploymentStatus.SUCCEEDED,
        DeploymentStatus.FAILED,
        DeploymentStatus.CANCELLED,
        DeploymentStatus.ERRORED,
    }
)


class DeploymentKind(models.TextChoices):
    DEPLOY = "deploy", "Deploy"
    VALIDATE = "validate", "Validate (check only)"
    QUICK_DEPLOY = "quick_deploy", "Quick deploy of a validation"


class Deployment(models.Model):
    instance = models.ForeignKey(Instance, on_delete=models.PROTECT, related_name="deployments")
    org_connection = models.ForeignKey(
        OrgConnection, on_delete=models.PROTECT, related_name="deployments"
    )
    promotion = models.ForeignKey(
        "instances.Promotion",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deployments",
    )
    kind = models.CharField(max_length=20, choices=DeploymentKind.choices)
    validation = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="For a quick deploy: the validation it deploys.",
    )
    test_level = models.CharField(max_length=20, choices=TestLevel.choices)
    run_tests = models.JSONField(default=list, blank=True)
    from_commit = models.CharField(max_length=64, blank=True)
    to_commit = models.CharField(max_length=64)
    status = models.CharField(
        max_length=20, choices=DeploymentStatus.choices, default=DeploymentStatus.BUILDING
    )
    sf_deploy_id = models.CharField("Salesforce deploy id", max_length=18, blank=True)
    components_deployed = models.PositiveIntegerField(default=0)
    components_total = models.PositiveIntegerField(default=0)
    component_errors = models.PositiveIntegerField(default=0)
    tests_completed = models.PositiveIntegerField(default=0)
    tests_total = models.PositiveIntegerField(default=0)
    test_errors = models.PositiveIntegerField(default=0)
    component_failures = models.JSONField(default=list, blank=True)
    test_failures = models.JSONField(default=list, blank=True)
    ignore_warnings = models.BooleanField(
        default=False, help_text="Sent as ignoreWarnings: warnings did not fail the deployment."
    )
    # DeployMessages with problemType Warning: [{type, name, file, problem}].
    warnings = models.JSONField(default=list, blank=True)
    # Code coverage of the Apex classes and triggers deployed: [{name, kind, locations,
    # not_covered, percent}], and the org's coverage warnings: [{name, message}].
    coverage = models.JSONField(default=list, blank=True)
    coverage_warnings = models.JSONField(default=list, blank=True)
    failure_reason = models.TextField(
        blank=True, help_text="Why the org did not deploy it, in one line."
    )
    error_message = models.TextField(blank=True)
    artifact = models.CharField(
        max_length=500, blank=True, help_text="The package zip, relative to DATA_DIR."
    )
    package_summary = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # For standalone deployments, run by a task of their own: who holds it, until when.
    claimed_by = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # Instance pages: the latest deployments to an instance.
            models.Index(fields=["instance", "-id"], name="deployment_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} to {self.instance}"

    def get_absolute_url(self) -> str:
        return reverse("deployment_detail", args=[self.pk])

    @property
    def is_terminal(self) -> bool:
        return self.status in DEPLOYMENT_TERMINAL

    @property
    def went_wrong(self) -> bool:
        """Failed (the org refused) or errored (we could not finish)."""
        return self.status in (DeploymentStatus.FAILED, DeploymentStatus.ERRORED)

    @property
    def percent(self) -> int:
        """Components and tests done of total, for a progress bar."""
        total = self.components_total + self.tests_total
        if self.status == DeploymentStatus.SUCCEEDED:
            return 100
        if not total:
            return 0
        return int(100 * (self.components_deployed + self.tests_completed) / total)
