"""A repository's webhook secret, and the deliveries git hosts made to it."""

from __future__ import annotations

from django.db import models

from branching.models import Repository
from releasemgr.crypto import EncryptedField

# Deliveries kept per repository; older ones are deleted as new ones arrive.
KEEP_DELIVERIES = 100


class Provider(models.TextChoices):
    GITHUB = "github", "GitHub"
    GITLAB = "gitlab", "GitLab"
    BITBUCKET = "bitbucket", "Bitbucket Cloud"
    GITEA = "gitea", "Gitea / Forgejo"


class RepositoryHook(models.Model):
    """The shared secret git hosts sign (or send) with each delivery; shown once, when made."""

    repository = models.OneToOneField(Repository, on_delete=models.CASCADE, related_name="hook")
    secret = EncryptedField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Webhook secret of {self.repository}"


class HookStatus(models.TextChoices):
    QUEUED = "queued", "Refresh queued"
    REFRESHED = "refreshed", "Refreshed"
    IGNORED = "ignored", "Ignored (not a push)"
    ERRORED = "errored", "Refresh failed"


class HookDelivery(models.Model):
    """One verified delivery, recorded once by the provider's delivery id."""

    repository = models.ForeignKey(
        Repository, on_delete=models.CASCADE, related_name="hook_deliveries"
    )
    provider = models.CharField(max_length=10, choices=Provider.choices)
    delivery_id = models.CharField(max_length=100)
    event = models.CharField(max_length=100)
    # The branches the push moved: [{"branch": …, "before": …, "after": …}].
    changes = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=HookStatus.choices)
    detail = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "hook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "provider", "delivery_id"], name="hook_delivery_once"
            ),
        ]
        indexes = [
            # The repository's hook page and the pruning: its latest deliveries.
            models.Index(fields=["repository", "-id"], name="hook_delivery_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} {self.event} {self.delivery_id}"
