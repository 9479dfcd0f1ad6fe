"""Workers' claims on rows: one mechanism for promotions and deployments alike.

A row that a worker is working on names the worker (`claimed_by`) and how long the claim holds
(`lease_until`). A worker takes a row with a conditional UPDATE and checks the row count, renews
the lease as it makes progress, and writes only while the UPDATE that renews still matches its
name. A worker that dies stops renewing; once the lease has passed, another worker may take the
row over and resume it from the step it recorded.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone


class Outcome(StrEnum):
    """Why a task ended without taking its row to a final status."""

    NOT_RUNNABLE = "not runnable now"  # someone else holds it, or its turn has not come
    LOST_CLAIM = "lost claim"  # our lease lapsed and another worker took the row over


def lease_seconds() -> int:
    return int(getattr(settings, "PROMOTION_LEASE_SECONDS", 300))


def worker_id() -> str:
    """This process, as it signs its claims."""
    return f"{socket.gethostname()}:{os.getpid()}"


def lease_from(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + timedelta(seconds=lease_seconds())


def live(now: datetime) -> Q:
    """Rows whose claim still holds: their worker is alive, as far as anyone can tell."""
    return Q(lease_until__gte=now)


def lapsed(now: datetime) -> Q:
    """Rows nobody holds: never claimed, released, or their worker stopped renewing."""
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def is_live(lease_until: datetime | None, now: datetime) -> bool:
    """The same test as `live`, for a row already in memory."""
    return lease_until is not None and lease_until >= now


def take(rows: QuerySet[Any], worker: str, **fields: Any) -> bool:
    """Claim the one row of `rows` for `worker` unless someone else's claim still holds."""
    now = timezone.now()
    return bool(
        rows.filter(Q(claimed_by="") | lapsed(now)).update(
            claimed_by=worker, lease_until=lease_from(now), **fields
        )
    )


def renew(rows: QuerySet[Any], worker: str, **fields: Any) -> bool:
    """Extend `worker`'s lease (and save `fields`) only while it still holds the claim."""
    return bool(rows.filter(claimed_by=worker).update(lease_until=lease_from(), **fields))
