"""Delivery metrics (DORA) and the promotion queue, from aggregate queries.

Every number comes from a fixed number of grouped queries over promotions, their features and
approvals, whatever the number of instances, features or promotions: the database does the
arithmetic, Python only arranges the rows. What counts:

- a *deployment* into an instance is a promotion into it that succeeded (the branch moves only
  once the org accepted the package, or once the merge succeeded where there is no org), a
  rollback aside;
- *lead time for changes* is from a feature's first commit to its arrival in an instance (to
  production: the DORA measure), and the *stage wait* how long features stay in an instance
  before they are promoted on to its parent;
- a *change failure* is a promotion whose deployment the org refused, or a deployment that a
  succeeded rollback (`Promotion.rollback_of`) later reverted, over every promotion that
  reached the org (the deployments and the refused ones);
- *time to restore* is from a refused deployment to the next promotion into the same instance
  that succeeded, and from a reverted deployment to its rollback's success;
- the *queue* is how long promotions waited before a worker started them: for approval (request
  to the last approval) and behind other work (approval, or request, to start).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Avg,
    Case,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models.functions import Coalesce, TruncWeek
from django.utils import timezone

from instances.models import (
    Approval,
    Decision,
    Deployment,
    DeploymentStatus,
    Direction,
    Instance,
    Promotion,
    PromotionFeature,
    PromotionStatus,
    Purpose,
)

PERIODS = {7: "7 days", 30: "30 days", 90: "90 days", 365: "a year"}
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Period:
    start: datetime.datetime
    end: datetime.datetime

    @classmethod
    def last(cls, days: int, now: datetime.datetime | None = None) -> Period:
        end = now or timezone.now()
        return cls(end - datetime.timedelta(days=days), end)

    @property
    def weeks(self) -> float:
        return max((self.end - self.start).total_seconds() / (7 * 86400), 1 / 7)


@dataclass
class InstanceMetrics:
    """One instance's numbers over a period; durations are None where nothing was measured."""

    instance: Instance
    deployments: int = 0
    deployment_failures: int = 0  # refused by the org
    rolled_back: int = 0  # deployments a succeeded rollback reverted since
    lead_time: datetime.timedelta | None = None
    lead_time_features: int = 0
    stage_wait: datetime.timedelta | None = None
    stage_wait_features: int = 0
    time_to_restore: datetime.timedelta | None = None
    restores: int = 0
    approval_wait: datetime.timedelta | None = None
    queue_wait: datetime.timedelta | None = None
    longest_wait: datetime.timedelta | None = None
    started: int = 0
    awaiting_approval_now: int = 0
    queued_now: int = 0

    @property
    def change_failures(self) -> int:
        return self.deployment_failures + self.rolled_back

    @property
    def change_failure_rate(self) -> float | None:
        attempts = self.deployments + self.deployment_failures
        return self.change_failures / attempts if attempts else None


@dataclass
class Report:
    period: Period
    instances: list[InstanceMetrics]
    weekly: list[tuple[datetime.date, int, int]] = field(default_factory=list)
    """Per week: deployments into production, deployments anywhere."""

    @property
    def production(self) -> list[InstanceMetrics]:
        return [m for m in self.instances if m.instance.purpose == Purpose.PRODUCTION]

    def total(self, rows: Iterable[InstanceMetrics]) -> InstanceMetrics:
        """The numbers of several instances taken together (counts add, durations weigh)."""
        rows = list(rows)
        out = InstanceMetrics(instance=Instance(name="All"))
        out.deployments = sum(m.deployments for m in rows)
        out.deployment_failures = sum(m.deployment_failures for m in rows)
        out.rolled_back = sum(m.rolled_back for m in rows)
        out.lead_time, out.lead_time_features = _weighted(
            (m.lead_time, m.lead_time_features) for m in rows
        )
        out.stage_wait, out.stage_wait_features = _weighted(
            (m.stage_wait, m.stage_wait_features) for m in rows
        )
        out.time_to_restore, out.restores = _weighted((m.time_to_restore, m.restores) for m in rows)
        out.started = sum(m.started for m in rows)
        out.approval_wait, _ = _weighted((m.approval_wait, m.started) for m in rows)
        out.queue_wait, _ = _weighted((m.queue_wait, m.started) for m in rows)
        waits = [m.longest_wait for m in rows if m.longest_wait is not None]
        out.longest_wait = max(waits) if waits else None
        out.awaiting_approval_now = sum(m.awaiting_approval_now for m in rows)
        out.queued_now = sum(m.queued_now for m in rows)
        return out

    def deployments_per_week(self, rows: Iterable[InstanceMetrics]) -> float:
        return sum(m.deployments for m in rows) / self.period.weeks


def hours(value: datetime.timedelta | None, digits: int | None = None) -> float | None:
    """A duration in hours (None stays None), rounded to `digits` if given: the unit of the
    CSV, the API and the charts."""
    if value is None:
        return None
    return (
        value.total_seconds() / 3600
        if digits is None
        else round(value.total_seconds() / 3600, digits)
    )


def measures(m: InstanceMetrics, period: Period) -> dict[str, int | float | None]:
    """An instance's numbers (or several instances' `Report.total`) by the names the CSV and
    the API give them: counts, the change failure rate as a fraction, durations in hours, None
    where nothing was measured."""
    return {
        "deployments": m.deployments,
        "deployments_per_week": m.deployments / period.weeks,
        "deployment_failures": m.deployment_failures,
        "rolled_back": m.rolled_back,
        "change_failure_rate": m.change_failure_rate,
        "lead_time_hours": hours(m.lead_time),
        "lead_time_features": m.lead_time_features,
        "stage_wait_hours": hours(m.stage_wait),
        "stage_wait_features": m.stage_wait_features,
        "time_to_restore_hours": hours(m.time_to_restore),
        "restores": m.restores,
        "approval_wait_hours": hours(m.approval_wait),
        "queue_wait_hours": hours(m.queue_wait),
        "longest_wait_hours": hours(m.longest_wait),
        "promotions_started": m.started,
        "awaiting_approval_now": m.awaiting_approval_now,
        "queued_now": m.queued_now,
    }


def _weighted(
    pairs: Iterable[tuple[datetime.timedelta | None, int]],
) -> tuple[datetime.timedelta | None, int]:
    total = datetime.timedelta()
    n = 0
    for value, count in pairs:
        if value is not None and count:
            total += value * count
            n += count
    return (total / n if n else None), n


def _duration(expression: Any) -> ExpressionWrapper:
    return ExpressionWrapper(expression, output_field=DurationField())


def _in(period: Period, field: str) -> Q:
    return Q(**{f"{field}__gte": period.start, f"{field}__lt": period.end})


# A promotion whose deployment the org refused, failed or given up (cancelled after it failed):
# a change failure.
_REFUSED = Q(status__in=[PromotionStatus.FAILED, PromotionStatus.CANCELLED]) & Q(
    pk__in=Deployment.objects.filter(
        promotion__isnull=False, status=DeploymentStatus.FAILED
    ).values("promotion")
)
# A deployment: a promotion that succeeded, except a rollback (it undoes one).
_DEPLOYED = Q(status=PromotionStatus.SUCCEEDED) & ~Q(direction=Direction.ROLLBACK)
# The succeeded rollbacks of the promotion at hand, the first first.
_ROLLBACKS = Promotion.objects.filter(
    rollback_of=OuterRef("pk"), status=PromotionStatus.SUCCEEDED
).order_by("finished_at")
# A deployment a succeeded rollback reverted: a change failure too.
_ROLLED_BACK = _DEPLOYED & Q(Exists(_ROLLBACKS))


def report(instances: QuerySet[Instance], period: Period) -> Report:
    """The metrics of `instances` over `period`: eight grouped queries, whatever the size."""
    rows = {
        i.pk: InstanceMetrics(instance=i)
        for i in instances.select_related("repository").order_by("repository__name", "name")
    }
    promotions = Promotion.objects.filter(target_id__in=list(rows))
    _deployments(rows, promotions, period)
    _lead_times(rows, period)
    _stage_waits(rows, period)
    _restores(rows, promotions, period)
    _queue(rows, promotions, period)
    _waiting_now(rows, promotions)
    return Report(period=period, instances=list(rows.values()), weekly=_weekly(promotions, period))


Rows = dict[int, InstanceMetrics]


def _deployments(rows: Rows, promotions: QuerySet[Promotion], period: Period) -> None:
    for row in (
        promotions.filter(_in(period, "finished_at"))
        .values("target")
        .annotate(
            ok=Count("id", filter=_DEPLOYED),
            failed=Count("id", filter=_REFUSED),
            rolled_back=Count("id", filter=_ROLLED_BACK),
        )
    ):
        rows[row["target"]].deployments = row["ok"]
        rows[row["target"]].deployment_failures = row["failed"]
        rows[row["target"]].rolled_back = row["rolled_back"]


def _lead_times(rows: Rows, period: Period) -> None:
    """From each feature's first commit to its arrival, per target."""
    arrivals = PromotionFeature.objects.filter(
        _in(period, "promotion__finished_at"),
        promotion__target_id__in=list(rows),
        promotion__status=PromotionStatus.SUCCEEDED,
        feature__first_commit_at__isnull=False,
    ).exclude(promotion__direction=Direction.ROLLBACK)
    for row in (
        arrivals.annotate(
            lead=_duration(F("promotion__finished_at") - F("feature__first_commit_at"))
        )
        .values("promotion__target")
        .annotate(avg=Avg("lead"), n=Count("id"))
    ):
        rows[row["promotion__target"]].lead_time = row["avg"]
        rows[row["promotion__target"]].lead_time_features = row["n"]


def _stage_waits(rows: Rows, period: Period) -> None:
    """From a feature's arrival in an instance to its promotion on to the parent."""
    departure = (
        PromotionFeature.objects.filter(
            feature=OuterRef("feature"),
            promotion__source=OuterRef("promotion__target"),
            promotion__direction=Direction.FORWARD,
            promotion__status=PromotionStatus.SUCCEEDED,
            promotion__finished_at__gt=OuterRef("promotion__finished_at"),
        )
        .order_by("promotion__finished_at")
        .values("promotion__finished_at")[:1]
    )
    stays = (
        PromotionFeature.objects.filter(
            promotion__target_id__in=list(rows), promotion__status=PromotionStatus.SUCCEEDED
        )
        .exclude(promotion__direction=Direction.ROLLBACK)
        .annotate(left=Subquery(departure, output_field=DateTimeField()))
        .filter(_in(period, "left"))
    )
    for row in (
        stays.annotate(stay=_duration(F("left") - F("promotion__finished_at")))
        .values("promotion__target")
        .annotate(avg=Avg("stay"), n=Count("id"))
    ):
        rows[row["promotion__target"]].stage_wait = row["avg"]
        rows[row["promotion__target"]].stage_wait_features = row["n"]


def _restores(rows: Rows, promotions: QuerySet[Promotion], period: Period) -> None:
    """From a refused deployment to the next success into the same target, and from a
    reverted deployment to its rollback's success; by when the failed change ended."""
    recovered = (
        Promotion.objects.filter(
            target=OuterRef("target"),
            status=PromotionStatus.SUCCEEDED,
            finished_at__gt=OuterRef("finished_at"),
        )
        .order_by("finished_at")
        .values("finished_at")[:1]
    )
    rollback = _ROLLBACKS.values("finished_at")[:1]
    for row in (
        promotions.filter(_REFUSED | _ROLLED_BACK, _in(period, "finished_at"))
        .annotate(
            back=Case(
                When(_REFUSED, then=Subquery(recovered)),
                default=Subquery(rollback),
                output_field=DateTimeField(),
            )
        )
        .filter(back__isnull=False)
        .annotate(restore=_duration(F("back") - F("finished_at")))
        .values("target")
        .annotate(avg=Avg("restore"), n=Count("id"))
    ):
        rows[row["target"]].time_to_restore = row["avg"]
        rows[row["target"]].restores = row["n"]


def _queue(rows: Rows, promotions: QuerySet[Promotion], period: Period) -> None:
    """How long the promotions started in the period waited: for approval, then in the queue."""
    approved_at = (
        Approval.objects.filter(promotion=OuterRef("pk"), decision=Decision.APPROVED)
        .order_by("-at")
        .values("at")[:1]
    )
    started = promotions.filter(_in(period, "started_at")).annotate(
        approved=Subquery(approved_at, output_field=DateTimeField()),
        ready=Coalesce("approved", "requested_at", output_field=DateTimeField()),
    )
    for row in (
        started.annotate(
            for_approval=_duration(F("ready") - F("requested_at")),
            in_queue=_duration(F("started_at") - F("ready")),
            waited=_duration(F("started_at") - F("requested_at")),
        )
        .values("target")
        .annotate(
            approval=Avg("for_approval"),
            queue=Avg("in_queue"),
            longest=Max("waited"),
            n=Count("id"),
        )
    ):
        metrics = rows[row["target"]]
        metrics.approval_wait = row["approval"]
        metrics.queue_wait = row["queue"]
        metrics.longest_wait = row["longest"]
        metrics.started = row["n"]


def _waiting_now(rows: Rows, promotions: QuerySet[Promotion]) -> None:
    for row in (
        promotions.filter(status__in=[PromotionStatus.AWAITING_APPROVAL, PromotionStatus.QUEUED])
        .values("target", "status")
        .annotate(n=Count("id"))
    ):
        if row["status"] == PromotionStatus.AWAITING_APPROVAL:
            rows[row["target"]].awaiting_approval_now = row["n"]
        else:
            rows[row["target"]].queued_now = row["n"]


def _weekly(
    promotions: QuerySet[Promotion], period: Period
) -> list[tuple[datetime.date, int, int]]:
    """Deployments per week, into production and anywhere, for every week of the period."""
    counts = {
        _as_date(row["week"]): (row["production"], row["all"])
        for row in promotions.filter(_DEPLOYED, _in(period, "finished_at"))
        .annotate(week=TruncWeek("finished_at"))
        .values("week")
        .annotate(
            production=Count("id", filter=Q(target__purpose=Purpose.PRODUCTION)),
            all=Count("id"),
        )
    }
    week = _as_date(period.start) - datetime.timedelta(days=period.start.weekday())
    weeks = []
    while week <= period.end.date():
        weeks.append((week, *counts.get(week, (0, 0))))
        week += datetime.timedelta(days=7)
    return weeks


def _as_date(value: datetime.date | datetime.datetime) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value
