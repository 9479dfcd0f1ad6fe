"""The metrics page, its charts and its CSV: one filter form, one report, three shapes."""

from __future__ import annotations

import csv
import datetime

from django import forms
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from branching.models import Repository
from instances.environments.access import require_instance_perm
from instances.environments.permissions import visible_instances
from instances.metrics import charts
from instances.metrics.dora import (
    DEFAULT_DAYS,
    PERIODS,
    InstanceMetrics,
    Period,
    Report,
    measures,
    report,
)
from instances.models import Instance
from releasemgr.http import AuthedRequest


class MetricsFilter(forms.Form):
    days = forms.TypedChoiceField(
        label="Period",
        choices=[(d, f"Last {label}") for d, label in PERIODS.items()],
        coerce=int,
        initial=DEFAULT_DAYS,
        required=False,
    )
    repository = forms.ModelChoiceField(
        queryset=Repository.objects.order_by("name"), required=False, empty_label="Every repository"
    )
    instance = forms.ModelChoiceField(
        queryset=Instance.objects.order_by("name"), required=False, empty_label="Every instance"
    )

    def __init__(self, data: object, *, user: User) -> None:
        super().__init__(data)  # type: ignore[arg-type]
        self.visible = visible_instances(user)
        self.fields["instance"].queryset = self.visible.order_by("name")  # type: ignore[attr-defined]

    def scope(self) -> tuple[QuerySet[Instance], Period]:
        data = self.cleaned_data if self.is_valid() else {}
        instances = self.visible
        if repository := data.get("repository"):
            instances = instances.filter(repository=repository)
        if instance := data.get("instance"):
            instances = instances.filter(pk=instance.pk)
        return instances, Period.last(data.get("days") or DEFAULT_DAYS)


def _report(request: AuthedRequest) -> tuple[MetricsFilter, Report]:
    require_instance_perm(request, "view")
    form = MetricsFilter(request.GET or None, user=request.user)
    instances, period = form.scope()
    return form, report(instances, period)


def duration(value: datetime.timedelta | None) -> str:
    """A duration as people read one: 3 d 4 h, 5 h 10 min, 12 min, 40 s."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{seconds} s"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def _row(m: InstanceMetrics) -> dict[str, object]:
    return {
        "instance": m.instance,
        "deployments": m.deployments,
        "failures": m.deployment_failures,
        "rolled_back": m.rolled_back,
        "failure_rate": percent(m.change_failure_rate),
        "lead_time": duration(m.lead_time),
        "lead_time_features": m.lead_time_features,
        "stage_wait": duration(m.stage_wait),
        "stage_wait_features": m.stage_wait_features,
        "time_to_restore": duration(m.time_to_restore),
        "restores": m.restores,
        "approval_wait": duration(m.approval_wait),
        "queue_wait": duration(m.queue_wait),
        "longest_wait": duration(m.longest_wait),
        "started": m.started,
        "awaiting_approval_now": m.awaiting_approval_now,
        "queued_now": m.queued_now,
    }


@require_GET
def metrics(request: AuthedRequest) -> HttpResponse:
    form, result = _report(request)
    production = result.production
    headline = result.total(production) if production else result.total(result.instances)
    query = request.GET.urlencode()
    return render(
        request,
        "instances/metrics/metrics.html",
        {
            "form": form,
            "period": result.period,
            "rows": [_row(m) for m in result.instances],
            "headline": _row(headline),
            "headline_scope": "production" if production else "every instance shown",
            "per_week": f"{result.deployments_per_week(production or result.instances):.1f}",
            "weekly": result.weekly,
            "charts": [(name, title) for name, title in charts.CHARTS.items()],
            "query": query,
        },
    )


@require_GET
def metrics_chart(request: AuthedRequest, name: str) -> HttpResponse:
    if name not in charts.CHARTS:
        raise Http404("No such chart.")
    _, result = _report(request)
    response = HttpResponse(charts.render(name, result), content_type="image/svg+xml")
    # An image document of ours with pygal's own <style>; no script may run in it.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# Who the row is about, then `dora.measures`: the same names and numbers as the API's.
CSV_COLUMNS = [
    ("repository", lambda m: m.instance.repository.name),
    ("instance", lambda m: m.instance.name),
    ("purpose", lambda m: m.instance.purpose),
]
CSV_DIGITS = {"change_failure_rate": 4}  # hours and rates per week: 2


def _csv_number(name: str, value: int | float | None) -> object:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{CSV_DIGITS.get(name, 2)}f}"
    return value


def _csv_cell(value: object) -> object:
    # A spreadsheet runs a cell that starts with one of these as a formula: names are user text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@require_GET
def metrics_csv(request: AuthedRequest) -> HttpResponse:
    _, result = _report(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = result.period.end.date().isoformat()
    response["Content-Disposition"] = f'attachment; filename="releasemgr-metrics-{stamp}.csv"'
    writer = csv.writer(response)
    period = result.period
    names = [name for name, _ in CSV_COLUMNS]
    writer.writerow(
        ["period_start", "period_end", *names, *measures(InstanceMetrics(Instance()), period)]
    )
    start, end = period.start.isoformat(), period.end.isoformat()
    for m in result.instances:
        writer.writerow(
            [
                start,
                end,
                *(_csv_cell(get(m)) for _, get in CSV_COLUMNS),
                *(_csv_number(k, v) for k, v in measures(m, period).items()),
            ]
        )
    return response
