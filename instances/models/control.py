"""Release control on top of the two roles: who may do what on one instance (grants), how many
approvals it needs and from whom (approval policy), and when it accepts promotions (windows and
freezes). `instances.environments.permissions` and `instances.environments.windows` read these;
nothing else decides.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from branching.models import Repository
from instances.models.hierarchy import Instance
from instances.models.promotion import Promotion


class Capability(models.TextChoices):
    """What a grant allows on one instance. `manage` includes every other capability."""

    VIEW = "view", "View"
    PROMOTE = "promote", "Request promotions into"
    APPROVE = "approve", "Approve promotions into"
    DEPLOY = "deploy", "Deploy (standalone deployments, org connection)"
    MANAGE = "manage", "Manage"


class InstanceGrant(models.Model):
    """One capability on one instance for one user or one group.

    A capability nobody holds a grant for on an instance is open to the roles, as without
    grants; once someone holds one, only grantees (and admins) have it there. Any grant lets
    its holder see the instance.
    """

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="grants")
    capability = models.CharField(max_length=10, choices=Capability.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="instance_grants",
    )
    group = models.ForeignKey(
        Group, on_delete=models.CASCADE, null=True, blank=True, related_name="instance_grants"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["instance", "capability", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True)
                | Q(user__isnull=True, group__isnull=False),
                name="grant_user_or_group",
                violation_error_message="A grant is for one user or one group.",
            ),
            models.UniqueConstraint(
                fields=["instance", "capability", "user"],
                condition=Q(user__isnull=False),
                name="grant_once_per_user",
                violation_error_message="That user already holds this grant.",
            ),
            models.UniqueConstraint(
                fields=["instance", "capability", "group"],
                condition=Q(group__isnull=False),
                name="grant_once_per_group",
                violation_error_message="That group already holds this grant.",
            ),
        ]
        indexes = [
            # visible_instances / instances_allowing: the grants on each instance by capability.
            models.Index(fields=["instance", "capability"], name="grant_by_instance"),
        ]

    def __str__(self) -> str:
        return f"{self.grantee}: {self.get_capability_display()} on {self.instance}"

    @property
    def grantee(self) -> str:
        return f"group {self.group}" if self.group_id else str(self.user)

    def clean(self) -> None:
        if bool(self.user_id) == bool(self.group_id):
            raise ValidationError("Choose one user or one group.")


class ApprovalPolicy(models.Model):
    """How many approvals an approval-gated instance needs, and who may give them.

    The requester and the last committer of a promoted feature never count, whatever the policy.
    Without a policy an approval-gated instance needs one approval from anyone who may approve.
    """

    instance = models.OneToOneField(
        Instance, on_delete=models.CASCADE, related_name="approval_policy"
    )
    required_approvals = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(20)]
    )
    approver_groups = models.ManyToManyField(
        Group,
        blank=True,
        related_name="+",
        help_text="Only members of these groups (or the users below) count; none: anyone who "
        "may approve.",
    )
    approver_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "approval policies"

    def __str__(self) -> str:
        return f"{self.instance}: {self.required_approvals} approval(s)"


def validate_time_zone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(f"“{value}” is not an IANA time zone (e.g. Europe/Paris).")


class WindowKind(models.TextChoices):
    ALLOW = "allow", "Allowed window"
    DENY = "deny", "Denied window"


class DeploymentWindow(models.Model):
    """A recurring period (an RFC 5545 RRULE from a local start, lasting `duration`) when an
    instance, or every instance of a repository, accepts promotions (allow) or refuses them
    (deny). With allowed windows, promotions run only inside one of them; denied windows win."""

    instance = models.ForeignKey(
        Instance, on_delete=models.CASCADE, null=True, blank=True, related_name="windows"
    )
    repository = models.ForeignKey(
        Repository, on_delete=models.CASCADE, null=True, blank=True, related_name="windows"
    )
    kind = models.CharField(max_length=5, choices=WindowKind.choices, default=WindowKind.ALLOW)
    label = models.CharField(max_length=100, blank=True)
    rule = models.CharField(
        max_length=500,
        help_text="An RFC 5545 recurrence rule, e.g. FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=18.",
    )
    starts = models.DateTimeField(
        help_text="The first occurrence, in the window's time zone (the rule's DTSTART)."
    )
    time_zone = models.CharField(
        max_length=64, default="UTC", validators=[validate_time_zone], help_text="e.g. Europe/Paris"
    )
    duration = models.DurationField(default=timedelta(hours=2))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(instance__isnull=False, repository__isnull=True)
                | Q(instance__isnull=True, repository__isnull=False),
                name="window_instance_or_repository",
                violation_error_message="A window belongs to one instance or one repository.",
            ),
        ]

    def __str__(self) -> str:
        return self.label or f"{self.get_kind_display()} {self.rule}"

    @property
    def scope(self) -> str:
        return str(self.instance or self.repository)

    def local_start(self) -> datetime:
        """DTSTART as a wall-clock time in the window's zone (stored naive-in-UTC by Django)."""
        zone = ZoneInfo(self.time_zone)
        return self.starts.astimezone(zone)

    def clean(self) -> None:
        from instances.models.recurrence import WindowRuleError, parse_rule, require_occurrence

        if bool(self.instance_id) == bool(self.repository_id):
            raise ValidationError("Choose one instance or one repository.")
        if self.duration is not None and not timedelta(minutes=1) <= self.duration <= timedelta(
            days=31
        ):
            raise ValidationError({"duration": "A window lasts between a minute and 31 days."})
        try:
            if self.starts is not None and self.time_zone in available_timezones():
                start = self.local_start()
                require_occurrence(parse_rule(self.rule, start), self.rule, start)
        except WindowRuleError as exc:
            raise ValidationError({"rule": str(exc)}) from None


class Freeze(models.Model):
    """ "Freeze now": no promotion runs into the instance (or the repository's instances) until
    `ends_at`, or until someone lifts it."""

    instance = models.ForeignKey(
        Instance, on_delete=models.CASCADE, null=True, blank=True, related_name="freezes"
    )
    repository = models.ForeignKey(
        Repository, on_delete=models.CASCADE, null=True, blank=True, related_name="freezes"
    )
    reason = models.TextField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: until lifted.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(instance__isnull=False, repository__isnull=True)
                | Q(instance__isnull=True, repository__isnull=False),
                name="freeze_instance_or_repository",
                violation_error_message="A freeze applies to one instance or one repository.",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=models.F("starts_at")),
                name="freeze_ends_after_start",
                violation_error_message="A freeze ends after it starts.",
            ),
        ]
        indexes = [
            # windows.state_of: the freezes not lifted, per instance and per repository.
            models.Index(
                fields=["instance", "repository"],
                name="freeze_unlifted",
                condition=Q(lifted_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"Freeze of {self.instance or self.repository}: {self.reason[:40]}"

    def is_active(self, at: datetime) -> bool:
        return (
            self.lifted_at is None
            and self.starts_at <= at
            and (self.ends_at is None or at < self.ends_at)
        )


class WindowOverride(models.Model):
    """An emergency push of one promotion through a closed instance, with its justification."""

    promotion = models.OneToOneField(Promotion, on_delete=models.CASCADE, related_name="override")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    justification = models.TextField()
    closed_because = models.TextField(help_text="Why the instance was closed at the time.")
    at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Override of #{self.promotion_id} by {self.user}"
