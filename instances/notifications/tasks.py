"""Tasks of the notifications: turn a change into events, send deliveries, retry the failed.

None of them runs in a request or in a promotion's transaction: signals queue them once the
transaction that made the change commits. Each delivery is claimed with a conditional update,
so a duplicate task sends nothing twice; a failed attempt waits NOTIFY_RETRY_SECONDS, doubled
at each attempt, up to NOTIFY_MAX_ATTEMPTS; the every-minute sweep picks up what is due.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from instances.models import Deployment, Promotion
from instances.notifications import channels, events
from instances.notifications.models import DUE, Delivery, DeliveryStatus
from releasemgr.models import AuditEvent

logger = logging.getLogger(__name__)


def promotion_changed(promotion_id: int) -> int:
    """Record the events of the promotion's current status; returns how many were new."""
    promotion = (
        Promotion.objects.select_related("target", "source", "requested_by")
        .prefetch_related("items__feature")
        .filter(pk=promotion_id)
        .first()
    )
    if promotion is None:
        return 0
    return sum(events.emit(spec) is not None for spec in events.promotion_specs(promotion))


def deployment_changed(deployment_id: int) -> int:
    deployment = (
        Deployment.objects.select_related("instance", "promotion").filter(pk=deployment_id).first()
    )
    spec = events.deployment_spec(deployment) if deployment is not None else None
    return int(spec is not None and events.emit(spec) is not None)


def deployment_overridden(audit_event_id: int) -> int:
    """The emergency override of a standalone deployment, from its audit event."""
    event = AuditEvent.objects.select_related("actor").filter(pk=audit_event_id).first()
    if event is None or event.actor is None:
        return 0
    deployment = (
        Deployment.objects.select_related("instance")
        .filter(pk=event.changes.get("deployment"))
        .first()
    )
    if deployment is None:
        return 0
    spec = events.deployment_override_spec(deployment, event.actor, event.changes["justification"])
    return int(events.emit(spec) is not None)


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: the base, doubled each time."""
    return timedelta(seconds=settings.NOTIFY_RETRY_SECONDS * 2 ** max(attempts - 1, 0))


def _due() -> Q:
    now = timezone.now()
    return Q(status__in=DUE) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)) | Q(
        status=DeliveryStatus.SENDING, lease_until__lt=now
    )


def deliver(delivery_id: int) -> str:
    """Make one attempt at a delivery if it is due; returns its status afterwards."""
    now = timezone.now()
    lease = timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 3 + settings.EMAIL_TIMEOUT + 60)
    claimed = Delivery.objects.filter(_due(), pk=delivery_id).update(
        status=DeliveryStatus.SENDING, lease_until=now + lease
    )
    if not claimed:
        return "not due"
    delivery = Delivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
    attempts = delivery.attempts + 1
    try:
        status = channels.send(delivery)
    except channels.SendFailed as exc:
        final = exc.permanent or attempts >= settings.NOTIFY_MAX_ATTEMPTS
        Delivery.objects.filter(pk=delivery_id).update(
            status=DeliveryStatus.FAILED if final else DeliveryStatus.RETRYING,
            attempts=attempts,
            next_attempt_at=None if final else timezone.now() + backoff(attempts),
            lease_until=None,
            response_status=exc.status,
            last_error=str(exc)[:2000],
        )
        logger.info("delivery %s attempt %s failed: %s", delivery_id, attempts, exc)
        return DeliveryStatus.FAILED if final else DeliveryStatus.RETRYING
    Delivery.objects.filter(pk=delivery_id).update(
        status=DeliveryStatus.SENT,
        attempts=attempts,
        next_attempt_at=None,
        lease_until=None,
        response_status=status,
        last_error="",
        sent_at=timezone.now(),
    )
    return DeliveryStatus.SENT


def retry_due() -> list[int]:
    """Every minute: queue the deliveries whose next attempt is due (or whose sender died)."""
    due = list(Delivery.objects.filter(_due()).values_list("pk", flat=True)[:500])
    for pk in due:
        async_task(deliver, pk, task_name=f"delivery-{pk}")
    return due
