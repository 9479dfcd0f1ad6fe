"""When an instance accepts promotions: its deployment windows, its repository's, and freezes.

An instance is *open* at a moment when no freeze holds it, no denied window covers the moment,
and, if it has allowed windows at all, one of them does. Windows are RFC 5545 recurrence rules
(python-dateutil's `rrule`, the reference implementation most calendar code in Python rests on)
evaluated from a wall-clock start in the window's own IANA time zone, so "18:00 Europe/Paris"
stays 18:00 in Paris across daylight-saving changes.

Promotions into a closed instance stay queued: `instances.promotions.queue`, which the claim,
the dispatcher and the "why it waits" text all ask, lets only overridden ones through while
`closure_of` says the target is closed, and shows `Closure.text`. What acts on promotions
(an emergency override, starting what waited once a freeze is lifted) is
`instances.promotions.overrides`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from branching.models import Repository
from instances.environments.permissions import Capability, allows
from instances.models import (
    DeploymentWindow,
    Freeze,
    Instance,
    WindowKind,
)
from instances.models.recurrence import HORIZON, parse_rule, picks_no_day
from releasemgr.models import AuditEvent

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1024)
def _rule(text: str, start: datetime, zone: str) -> rrule | None:
    """The window's rule, or None for one that picks no day at all (saved before saves
    refused it): asked when it next occurs, dateutil would search up to the year 9999."""
    local = start.astimezone(ZoneInfo(zone))
    return None if picks_no_day(text, local) else parse_rule(text, local)


def _occurrence_covering(
    window: DeploymentWindow, at: datetime
) -> tuple[datetime, datetime] | None:
    """The occurrence of `window` that `at` falls in, as (start, end), or None."""
    start = _start_before(window.rule, window.starts, window.time_zone, at)
    if start is None:
        return None
    end = start + window.duration
    return (start, end) if at < end else None


def _next_start(window: DeploymentWindow, after: datetime) -> datetime | None:
    return _start_after(window.rule, window.starts, window.time_zone, after)


# dateutil answers `before` and `after` by walking the rule from its start: a weekday window
# started three years ago costs 5 ms a question, and a repository's window is asked the same
# question for each of its instances a page shows (300 on a big dashboard). The answers are
# kept by what they depend on, so a page asks each once.
@lru_cache(maxsize=4096)
def _start_before(text: str, starts: datetime, zone: str, at: datetime) -> datetime | None:
    rule = _rule(text, starts, zone)
    return rule.before(at.astimezone(ZoneInfo(zone)), inc=True) if rule is not None else None


@lru_cache(maxsize=4096)
def _start_after(text: str, starts: datetime, zone: str, after: datetime) -> datetime | None:
    rule = _rule(text, starts, zone)
    return rule.after(after.astimezone(ZoneInfo(zone)), inc=False) if rule is not None else None


def _when(moment: datetime, zone: str | None = None) -> str:
    local = moment.astimezone(ZoneInfo(zone)) if zone else timezone.localtime(moment)
    return local.strftime("%Y-%m-%d %H:%M ") + (zone or local.tzname() or "")


@dataclass
class Controls:
    """The windows and freezes that apply to one instance (its own and its repository's)."""

    windows: list[DeploymentWindow] = field(default_factory=list)
    freezes: list[Freeze] = field(default_factory=list)


@dataclass(frozen=True)
class Closure:
    """Why an instance is closed now, and when it opens again (None: until a freeze is lifted,
    or not within the horizon)."""

    text: str
    opens_at: datetime | None
    freeze: Freeze | None = None


def _blocked(controls: Controls, at: datetime) -> tuple[str, datetime | None, Freeze | None] | None:
    """(why, until when it may be, freeze) if closed at `at`; None if open."""
    active = [f for f in controls.freezes if f.is_active(at)]
    if active:
        # The freeze that holds longest names the instance's state.
        longest = max(active, key=lambda f: (f.ends_at is None, f.ends_at or at))
        until = "it is lifted" if longest.ends_at is None else _when(longest.ends_at)
        text = (
            f"Frozen until {until}, by {longest.created_by}, because {longest.reason.strip()}"
            f"{'' if longest.reason.strip().endswith('.') else '.'}"
        )
        return text, longest.ends_at, longest
    denied = [
        (w, occ)
        for w in controls.windows
        if w.kind == WindowKind.DENY and (occ := _occurrence_covering(w, at)) is not None
    ]
    if denied:
        window, (_, end) = max(denied, key=lambda d: d[1][1])
        return (
            f"In the denied window “{window}” until {_when(end, window.time_zone)}.",
            end,
            None,
        )
    allows = [w for w in controls.windows if w.kind == WindowKind.ALLOW]
    if allows and not any(_occurrence_covering(w, at) for w in allows):
        starts = [s for w in allows if (s := _next_start(w, at)) is not None]
        return "Outside its deployment windows.", min(starts) if starts else None, None
    return None


def next_opening(controls: Controls, at: datetime) -> datetime | None:
    """The first moment from `at` on when the instance is open (None: not before the horizon,
    or a freeze with no end)."""
    moment = at
    for _ in range(500):
        blocked = _blocked(controls, moment)
        if blocked is None:
            return moment
        until = blocked[1]
        if until is None or until <= moment or until > at + HORIZON:
            return None
        moment = until
    return None


def _closure(controls: Controls, at: datetime) -> Closure | None:
    blocked = _blocked(controls, at)
    if blocked is None:
        return None
    text, _, freeze = blocked
    opens = next_opening(controls, at)
    if freeze is None or freeze.ends_at is not None:
        zones = {w.time_zone for w in controls.windows}
        zone = zones.pop() if len(zones) == 1 else None
        text += f" Next opening: {_when(opens, zone)}." if opens else " No opening within a year."
    return Closure(text, opens, freeze)


def controls_for(instances: Iterable[Instance]) -> dict[int, Controls]:
    """instance id → its windows and unlifted freezes (its own and its repository's): two
    queries for any number of instances."""
    instances = list(instances)
    ids = {i.pk for i in instances}
    repos = {i.repository_id for i in instances}
    scope = Q(instance_id__in=ids) | Q(repository_id__in=repos)
    windows = list(DeploymentWindow.objects.filter(scope))
    freezes = list(
        Freeze.objects.filter(scope, lifted_at__isnull=True).select_related("created_by")
    )
    by_instance: dict[int, list[Any]] = defaultdict(list)
    by_repo: dict[int, list[Any]] = defaultdict(list)
    rows_: list[Any] = [*windows, *freezes]
    for row in rows_:
        if row.instance_id:
            by_instance[row.instance_id].append(row)
        else:
            by_repo[row.repository_id].append(row)
    out = {}
    for instance in instances:
        rows = by_instance[instance.pk] + by_repo[instance.repository_id]
        out[instance.pk] = Controls(
            [r for r in rows if isinstance(r, DeploymentWindow)],
            [r for r in rows if isinstance(r, Freeze)],
        )
    return out


def closures_of(instances: Sequence[Instance], at: datetime | None = None) -> dict[int, Closure]:
    """instance id → why it is closed now, for the closed ones."""
    at = at or timezone.now()
    out = {}
    for instance_id, controls in controls_for(instances).items():
        if (closure := _closure(controls, at)) is not None:
            out[instance_id] = closure
    return out


def closure_of(instance: Instance, at: datetime | None = None) -> Closure | None:
    """Why `instance` accepts no promotion now, or None when it is open."""
    return closures_of([instance], at).get(instance.pk)


def upcoming_opening(instance: Instance, at: datetime | None = None) -> datetime | None:
    at = at or timezone.now()
    return next_opening(controls_for([instance])[instance.pk], at)


# --------------------------------------------------------------------------- freezes, overrides


def freeze(
    scope: Instance | Repository, user: Any, reason: str, ends_at: datetime | None = None
) -> Freeze:
    """Freeze now: promotions into the scope queue until `ends_at` or until lifted."""
    where = {"instance": scope} if isinstance(scope, Instance) else {"repository": scope}
    with transaction.atomic():
        row = Freeze.objects.create(
            **where, reason=reason, starts_at=timezone.now(), ends_at=ends_at, created_by=user
        )
        AuditEvent.record(
            user,
            "frozen",
            scope,
            {"reason": reason, "until": ends_at.isoformat() if ends_at else "lifted"},
        )
    return row


def lift(row: Freeze, user: Any) -> bool:
    """Lift a freeze (False when someone already did); `promotions.overrides.lift` also
    starts the promotions that waited."""
    scope = row.instance or row.repository
    assert scope is not None
    with transaction.atomic():
        updated = Freeze.objects.filter(pk=row.pk, lifted_at__isnull=True).update(
            lifted_at=timezone.now(), lifted_by=user
        )
        if not updated:
            return False
        AuditEvent.record(user, "freeze lifted", scope, {"reason": row.reason})
    return True


# The audit action of an emergency override (of a promotion or a standalone deployment).
OVERRIDE_ACTION = "emergency override"


class OverrideError(ValueError):
    """An override that cannot be given; the text says why."""


def override_justification(user: Any, instance: Instance, justification: str) -> str:
    """The written justification for pushing one promotion or standalone deployment through
    closed `instance`, when `user` may: a release manager who manages it."""
    justification = justification.strip()
    if not (
        user.has_perm("instances.change_promotion") and allows(user, instance, Capability.MANAGE)
    ):
        raise OverrideError(f"Only a release manager who manages {instance.name} can override.")
    if len(justification) < 10:
        raise OverrideError("An emergency override needs a written justification.")
    return justification
