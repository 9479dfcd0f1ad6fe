"""Subscriptions, webhook endpoints, the events they hear about, and every delivery made."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from instances.models import Instance
from releasemgr.crypto import EncryptedField


class EventKind(models.TextChoices):
    APPROVAL_REQUESTED = "approval_requested", "Approval requested"
    PROMOTION_SUCCEEDED = "promotion_succeeded", "Promotion succeeded"
    PROMOTION_FAILED = "promotion_failed", "Promotion failed"
    PROMOTION_CONFLICTED = "promotion_conflicted", "Promotion conflicted"
    PROMOTION_CANCELLED = "promotion_cancelled", "Promotion cancelled"
    DEPLOYMENT_FAILED = "deployment_failed", "Deployment failed"
    BACK_PROMOTION_POSSIBLE = "back_promotion_possible", "Back promotions now possible"
    FEATURE_STALE = "feature_stale", "Feature became stale"
    EMERGENCY_OVERRIDE = "emergency_override", "Emergency override of a freeze or window"


class Scope(models.TextChoices):
    EVERYTHING = "everything", "Everything"
    INSTANCE = "instance", "One instance"
    MY_FEATURES = "my_features", "Features I own"


class WebhookFormat(models.TextChoices):
    SLACK = "slack", "Slack (incoming webhook)"
    TEAMS = "teams", "Microsoft Teams (workflow webhook, Adaptive Card)"
    GENERIC = "generic", "JSON, signed with HMAC-SHA256"


class Endpoint(models.Model):
    """An outgoing webhook someone owns: where to post, in which format, and the signing secret."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    name = models.CharField(max_length=100)
    url = models.URLField("URL", max_length=500)
    format = models.CharField(max_length=10, choices=WebhookFormat.choices)
    # Signs the generic JSON body (X-Releasemgr-Signature-256); shown once, when created.
    secret = EncryptedField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Subscription(models.Model):
    """Which events someone hears about, about what, and how (email, a webhook, or both)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions"
    )
    scope = models.CharField(max_length=20, choices=Scope.choices, default=Scope.EVERYTHING)
    instance = models.ForeignKey(
        Instance, on_delete=models.CASCADE, null=True, blank=True, related_name="subscriptions"
    )
    events = models.JSONField(default=list, help_text="Event kinds (EventKind values).")
    by_email = models.BooleanField("by email", default=True)
    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.CASCADE, null=True, blank=True, related_name="subscriptions"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(scope="instance", instance__isnull=False)
                | (~Q(scope="instance") & Q(instance__isnull=True)),
                name="subscription_instance_matches_scope",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_scope_display()}"

    def event_labels(self) -> list[str]:
        labels = dict(EventKind.choices)
        return [labels.get(kind, kind) for kind in self.events]


class Event(models.Model):
    """Something happened that people may hear about, once: `key` makes it idempotent."""

    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=30, choices=EventKind.choices)
    title = models.CharField(max_length=300)
    text = models.TextField(blank=True)
    path = models.CharField(max_length=300, help_text="The page the event is about.")
    # Who it concerns: the instances involved, the owners of the features, who caused it.
    instance_ids = models.JSONField(default=list)
    owner_ids = models.JSONField(default=list)
    actor_id = models.IntegerField(null=True, blank=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.title

    @property
    def url(self) -> str:
        return settings.SITE_URL + self.path


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    RETRYING = "retrying", "Waiting to retry"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"  # every attempt failed; the last error says why


DUE = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


class Delivery(models.Model):
    """One message to one recipient, and how sending it went (every attempt counted)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", null=True
    )
    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.SET_NULL, null=True, blank=True, related_name="deliveries"
    )
    # The address or URL as it was when the delivery was made (the endpoint may change later).
    recipient = models.CharField(max_length=500)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "channel", "recipient"], name="delivery_once_per_recipient"
            ),
        ]
        indexes = [
            # The retry sweep: deliveries waiting for their next attempt.
            models.Index(
                fields=["status", "next_attempt_at"],
                name="delivery_due",
                condition=Q(status__in=["pending", "retrying", "sending"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.recipient}: {self.event}"

    def get_absolute_url(self) -> str:
        return reverse("delivery_list") + f"#delivery-{self.pk}"

    @property
    def display_recipient(self) -> str:
        """Webhook URLs often carry their secret in the path (Slack's do): show the host only."""
        if self.channel == Channel.WEBHOOK:
            parts = urlsplit(self.recipient)
            return f"{parts.scheme}://{parts.netloc}/…"
        return self.recipient
