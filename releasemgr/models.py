"""The audit trail shared by every app: who changed what, when, and from where to where."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models


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
        return cls.objects.create(
            actor=actor if actor is not None and actor.is_authenticated else None,
            action=action,
            target_type=target._meta.model_name or "",
            target_id=str(target.pk),
            target_repr=str(target)[:200],
            changes=changes or {},
            from_commit=from_commit,
            to_commit=to_commit,
        )

    @classmethod
    def for_object(cls, target: models.Model) -> models.QuerySet[AuditEvent]:
        return cls.objects.filter(
            target_type=target._meta.model_name, target_id=str(target.pk)
        ).select_related("actor")
