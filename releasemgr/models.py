"""The audit trail shared by every app: who changed what, when, and from where to where."""

from __future__ import annotations

from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import models
from django.urls import reverse
from django.utils import timezone


class AppendOnlyError(Exception):
    """Audit events are never edited or deleted, through the ORM or the admin."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("Audit events are append-only: they cannot be updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events are append-only: they cannot be deleted.")


class AuditEvent(models.Model):
    """One recorded state change. Append-only: `save` creates, nothing updates or deletes.

    The actor is protected: a user who acted is deactivated, never deleted, so no event loses
    who did it (a `SET_NULL` would be an edit behind the audit trail's back).
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=50)
    target_type = models.CharField(max_length=50)
    target_id = models.CharField(max_length=50)
    target_repr = models.CharField(max_length=200)
    changes = models.JSONField(default=dict, blank=True)
    from_commit = models.CharField(max_length=64, blank=True)
    to_commit = models.CharField(max_length=64, blank=True)
    # The personal access token the actor used, when the change came through one.
    via_token = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Instance and repository pages: the recent history of one object.
            models.Index(
                fields=["target_type", "target_id", "-created_at"], name="audit_target_recent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.target_type} {self.target_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Audit events are append-only: they cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit events are append-only: they cannot be deleted.")

    @classmethod
    def record(
        cls,
        actor: AbstractBaseUser | AnonymousUser | None,
        action: str,
        target: models.Model,
        changes: dict[str, Any] | None = None,
        from_commit: str = "",
        to_commit: str = "",
    ) -> AuditEvent:
        from releasemgr.tokens import token_name_for

        return cls.objects.create(
            # AUTH_USER_MODEL is Django's User; the parameter is typed as any signed-in user.
            actor=cast(
                "User | None", actor if actor is not None and actor.is_authenticated else None
            ),
            action=action,
            target_type=target._meta.model_name or "",
            target_id=str(target.pk),
            target_repr=str(target)[:200],
            changes=changes or {},
            from_commit=from_commit,
            to_commit=to_commit,
            via_token=token_name_for(actor),
        )

    @classmethod
    def for_object(cls, target: models.Model) -> models.QuerySet[AuditEvent]:
        return cls.objects.filter(
            target_type=target._meta.model_name, target_id=str(target.pk)
        ).select_related("actor")


class Scope(models.TextChoices):
    """What a personal access token may be used for, on top of what its user may do.

    Every scope includes `read`: a client that requests a promotion must be able to follow it.
    """

    READ = "read", "Read"
    PROMOTE = "promote", "Request promotions"
    APPROVE = "approve", "Approve or reject"
    MANAGE = "manage", "Manage (standalone deployments)"


class AccessToken(models.Model):
    """A personal access token for the API, the pipeline client and git over HTTP.

    Only a lookup prefix and the SHA-256 of the whole token are stored: the token itself is
    shown once, when it is created. A token never carries more than its user may do; the
    scopes narrow it further. `releasemgr.tokens` creates, authenticates and revokes them.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens"
    )
    name = models.CharField(
        max_length=60, help_text="What uses it, e.g. “ci-main”; shown in the audit trail."
    )
    # Unique, so indexed: `tokens.verify` finds a presented token by its prefix.
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_from = models.GenericIPAddressField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # A name says which token acted in the audit trail, so a user's live ones differ.
            models.UniqueConstraint(
                fields=["user", "name"],
                condition=models.Q(revoked_at__isnull=True),
                name="access_token_live_name_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"

    @property
    def scope_labels(self) -> list[str]:
        return [Scope(s).label for s in self.scopes if s in Scope.values]

    def state(self) -> str:
        """ "active", "expired" or "revoked", for pages and the admin."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        return "active"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


JOB_TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED})


class Job(models.Model):
    """Work a web request handed to the task cluster because it talks to a git remote
    (releasemgr/jobs.py); its page shows the status live and where to go next."""

    title = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    params = models.JSONField(default=dict)
    message = models.TextField(blank=True)
    result_url = models.CharField(max_length=500, blank=True)
    # What the work found, for pages and the API to show (a dry run's conflicts, the id of
    # the promotion or deployment it made).
    result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"

    def get_absolute_url(self) -> str:
        return reverse("job_detail", args=[self.pk])

    @property
    def is_terminal(self) -> bool:
        return self.status in JOB_TERMINAL
