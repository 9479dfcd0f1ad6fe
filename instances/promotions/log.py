"""A promotion's log: every change of state, with its actor and commits (docs/design.md,
invariant 6)."""

from __future__ import annotations

from django.contrib.auth.models import User

from instances.models import LogLevel, Promotion, PromotionLog
from releasemgr import tokens


def log(
    promotion: Promotion,
    message: str,
    *,
    actor: User | None = None,
    level: LogLevel = LogLevel.INFO,
    from_commit: str = "",
    to_commit: str = "",
) -> PromotionLog:
    return PromotionLog.objects.create(
        promotion=promotion,
        step=promotion.step,
        level=level,
        actor=actor if actor is not None and actor.is_authenticated else None,
        message=message + tokens.attribution(actor),
        from_commit=from_commit,
        to_commit=to_commit,
    )
