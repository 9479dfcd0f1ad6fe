"""Windows and freezes as they act on promotions: an emergency override through a closed
target, and starting what waited once a target opens again."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from branching.models import Repository
from instances.environments import windows
from instances.environments.windows import OverrideError, closure_of, override_justification
from instances.models import Freeze, Instance, LogLevel, Promotion, PromotionStatus, WindowOverride
from instances.promotions.log import log
from instances.promotions.tasks import dispatch_target
from releasemgr.models import AuditEvent

logger = logging.getLogger(__name__)

__all__ = ["OverrideError", "lift", "override", "redispatch"]


def _instances_of(scope: Instance | Repository) -> list[Instance]:
    if isinstance(scope, Instance):
        return [scope]
    return list(Instance.objects.filter(repository=scope))


def redispatch(scope: Instance | Repository) -> None:
    """After a freeze is lifted or a window removed: start what waited, once committed."""
    ids = [i.pk for i in _instances_of(scope)]

    def run() -> None:
        for target_id in ids:
            dispatch_target(target_id)

    transaction.on_commit(run)


def lift(row: Freeze, user: Any) -> bool:
    """Lift a freeze (False when someone already did); queued promotions may then start."""
    scope = row.instance or row.repository
    assert scope is not None
    with transaction.atomic():
        if not windows.lift(row, user):
            return False
        redispatch(scope)
    return True


def override(promotion: Promotion, user: Any, justification: str) -> WindowOverride:
    """Push one queued promotion through its closed target: recorded, logged, notified."""
    justification = override_justification(user, promotion.target, justification)
    with transaction.atomic():
        locked = Promotion.objects.select_for_update().filter(pk=promotion.pk).first()
        if locked is None or locked.status != PromotionStatus.QUEUED:
            raise OverrideError(f"Promotion #{promotion.pk} is not queued.")
        closure = closure_of(promotion.target)
        if closure is None:
            raise OverrideError(f"{promotion.target.name} is open; there is nothing to override.")
        if WindowOverride.objects.filter(promotion=promotion).exists():
            raise OverrideError(f"Promotion #{promotion.pk} already has an override.")
        row = WindowOverride.objects.create(
            promotion=promotion,
            user=user,
            justification=justification,
            closed_because=closure.text,
        )
        log(
            promotion,
            f"Emergency override by {user}: {justification} (the instance was closed: "
            f"{closure.text})",
            actor=user,
            level=LogLevel.WARNING,
        )
        AuditEvent.record(
            user,
            windows.OVERRIDE_ACTION,
            promotion.target,
            {"promotion": promotion.pk, "justification": justification, "closed": closure.text},
        )
        _notify_override(promotion, row)
        redispatch(promotion.target)
    return row


def _notify_override(promotion: Promotion, row: WindowOverride) -> None:
    """Tell the subscribers of the instance (instances.notifications), and the server log."""
    from instances.notifications.events import emit, override_spec

    emit(override_spec(promotion, row.user, row.justification))
    logger.warning(
        "emergency override of promotion %s into %s by %s: %s",
        promotion.pk,
        promotion.target.name,
        row.user,
        row.justification,
    )
