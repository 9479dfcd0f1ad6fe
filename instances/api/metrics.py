"""Delivery metrics: the numbers of /metrics/ and its CSV, per instance and per repository.

The same report (`instances.metrics.dora.report`), the same filter form and the same
visibility as the page: instances hidden from the caller are neither listed nor counted in the
totals, and an instance the caller may not see is a 404.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from branching.access import get_repository_for
from instances.api.common import (
    InstanceRef,
    RepositoryRef,
    form_data,
    instance_ref,
    repository_ref,
)
from instances.api.problems import form_problem
from instances.environments.access import get_instance_for, require_instance_perm
from instances.metrics.dora import DEFAULT_DAYS, PERIODS, Period, measures, report
from instances.metrics.views import MetricsFilter
from instances.models import Instance
from releasemgr.ids import Id

router = Router(tags=["metrics"])

DAYS = f"The period: the last {', '.join(map(str, PERIODS))} days (as the page offers)."


class PeriodQuery(Schema):
    days: int = Field(DEFAULT_DAYS, description=DAYS)


class ScopeQuery(PeriodQuery):
    repository: Id | None = Field(None, description="Only this repository's instances.")
    instance: Id | None = Field(None, description="Only this instance.")


class PeriodOut(Schema):
    start: datetime
    end: datetime
    days: int


class Measures(Schema):
    """Counts, the change failure rate as a fraction (null: nothing reached an org), and
    durations in hours (null: nothing was measured); the CSV's columns."""

    deployments: int
    deployments_per_week: float
    deployment_failures: int = Field(description="Promotions whose deployment the org refused.")
    rolled_back: int = Field(description="Deployments a succeeded rollback reverted since.")
    change_failure_rate: float | None
    lead_time_hours: float | None
    lead_time_features: int
    stage_wait_hours: float | None
    stage_wait_features: int
    time_to_restore_hours: float | None
    restores: int
    approval_wait_hours: float | None
    queue_wait_hours: float | None
    longest_wait_hours: float | None
    promotions_started: int
    awaiting_approval_now: int
    queued_now: int


class InstanceMeasures(Measures):
    instance: InstanceRef
    repository: RepositoryRef
    purpose: str


class WeekOut(Schema):
    week: date = Field(description="The Monday the week starts on.")
    production: int = Field(description="Deployments into production instances.")
    all: int = Field(description="Deployments into every instance in scope.")


class MetricsOut(Schema):
    period: PeriodOut
    total: Measures = Field(description="Every instance in scope taken together.")
    production: Measures | None = Field(
        description="The production instances in scope together (the page's headline), or "
        "null when there is none among them."
    )
    instances: list[InstanceMeasures]
    weekly: list[WeekOut]


def _filter(request: HttpRequest, query: dict[str, Any]) -> MetricsFilter:
    form = MetricsFilter(form_data(query), user=request.user)  # type: ignore[arg-type]
    if not form.is_valid():
        raise form_problem(form)
    return form


def _metrics(instances: QuerySet[Instance], period: Period, days: int) -> dict[str, Any]:
    result = report(instances, period)
    production = result.production
    return {
        "period": {"start": period.start, "end": period.end, "days": days},
        "total": measures(result.total(result.instances), period),
        "production": measures(result.total(production), period) if production else None,
        "instances": [
            {
                **measures(m, period),
                "instance": instance_ref(m.instance),
                "repository": repository_ref(m.instance.repository),
                "purpose": m.instance.purpose,
            }
            for m in result.instances
        ],
        "weekly": [
            {"week": week, "production": into_production, "all": anywhere}
            for week, into_production, anywhere in result.weekly
        ],
    }


@router.get("/metrics", response=MetricsOut, summary="Delivery metrics, as on the metrics page")
def get_metrics(request: HttpRequest, filters: Query[ScopeQuery]) -> dict[str, Any]:
    require_instance_perm(request, "view")
    form = _filter(request, filters.dict())
    instances, period = form.scope()
    return _metrics(instances, period, filters.days)


@router.get(
    "/metrics/instances/{pk}", response=MetricsOut, summary="One instance's delivery metrics"
)
def get_instance_metrics(
    request: HttpRequest, pk: int, filters: Query[PeriodQuery]
) -> dict[str, Any]:
    instance = get_instance_for(request, pk)
    form = _filter(request, {"days": filters.days, "instance": instance.pk})
    instances, period = form.scope()
    return _metrics(instances, period, filters.days)


@router.get(
    "/metrics/repositories/{pk}",
    response=MetricsOut,
    summary="A repository's delivery metrics, per instance and together",
)
def get_repository_metrics(
    request: HttpRequest, pk: int, filters: Query[PeriodQuery]
) -> dict[str, Any]:
    require_instance_perm(request, "view")
    repository = get_repository_for(request, pk)
    form = _filter(request, {"days": filters.days, "repository": repository.pk})
    instances, period = form.scope()
    return _metrics(instances, period, filters.days)
