"""Notice the changes people may hear about, and queue the task that records them.

Every state change of a promotion writes a log line in the same transaction (docs/design.md,
invariant 6), so the log is where a change is noticed: nothing in the engine knows about
notifications. A deployment is noticed when its status is saved. Either way the task is only
queued once the transaction commits, and never when the status is one nobody hears about.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django_q.tasks import async_task

from instances.environments.windows import OVERRIDE_ACTION
from instances.models import Deployment, Promotion, PromotionLog
from instances.notifications import tasks
from instances.notifications.events import KIND_BY_STATUS
from releasemgr.models import AuditEvent


@receiver(post_save, sender=PromotionLog)
def promotion_logged(sender: type[PromotionLog], instance: PromotionLog, **kwargs: Any) -> None:
    if not kwargs.get("created") or kwargs.get("raw"):
        return
    promotion_id = instance.promotion_id
    status = Promotion.objects.filter(pk=promotion_id).values_list("status", flat=True).first()
    if status in KIND_BY_STATUS:
        transaction.on_commit(
            lambda: async_task(
                tasks.promotion_changed, promotion_id, task_name=f"notify-promotion-{promotion_id}"
            )
        )


@receiver(post_save, sender=Deployment)
def deployment_saved(sender: type[Deployment], instance: Deployment, **kwargs: Any) -> None:
    fields = kwargs.get("update_fields")
    if kwargs.get("raw") or (fields is not None and "status" not in fields):
        return
    if instance.went_wrong:
        deployment_id = instance.pk
        transaction.on_commit(
            lambda: async_task(
                tasks.deployment_changed,
                deployment_id,
                task_name=f"notify-deployment-{deployment_id}",
            )
        )


@receiver(post_save, sender=AuditEvent)
def audited(sender: type[AuditEvent], instance: AuditEvent, **kwargs: Any) -> None:
    """A standalone deployment's emergency override (a promotion's is notified by
    `promotions.overrides` itself)."""
    if not kwargs.get("created") or kwargs.get("raw"):
        return
    if instance.action == OVERRIDE_ACTION and "deployment" in instance.changes:
        event_id = instance.pk
        transaction.on_commit(
            lambda: async_task(
                tasks.deployment_overridden, event_id, task_name=f"notify-override-{event_id}"
            )
        )
