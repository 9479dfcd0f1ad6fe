"""Promotions: list, one promotion with its steps, its log (followed with a `since` cursor);
request one (with a dry run first), cancel, retry. Its approvals (approve, reject), conflicts
(resolve) and rollback are their own resources (approvals.py, conflicts.py, rollback.py), all
answering with the shapes of promotion_shapes.py. Each act is the page's: the same access
helper, form and domain function. A dry run, and a request that must fetch from a remote first,
is a job the caller polls (jobs.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from branching.access import get_collection_for
from branching.models import features_by_key
from instances.api.auth import acting, need
from instances.api.common import Page, Paging, UserRef, form_data, paginate, user_ref
from instances.api.jobs import JobOut, accepted
from instances.api.problems import Problem, form_problem, refusal
from instances.api.promotion_shapes import (
    PromotionDetail,
    PromotionOut,
    act,
    promotion_detail,
    promotion_out,
    promotions_query,
)
from instances.environments.permissions import instances_allowing, visible_promotions
from instances.models import Capability, Instance, Promotion, PromotionLog, PromotionStatus
from instances.models.promotion import WAITING
from instances.promotions.access import get_promotion_for, require_promotion_perm
from instances.promotions.errors import PromotionError
from instances.promotions.forms import PromotionRequestForm
from instances.promotions.queue import waiting_reasons
from instances.promotions.requests import queue_request
from instances.promotions.rules import cancel, request_promotion, retry
from releasemgr.ids import Id
from releasemgr.models import Scope

router = Router(tags=["promotions"])

LOG_LIMIT = 500


class PromotionFilters(Schema):
    status: str | None = Field(
        None, description="A status, or “waiting” for awaiting approval, queued or running."
    )
    target: Id | None = None
    feature: str | None = None


class LogEntry(Schema):
    id: int
    at: datetime
    step: int
    level: str
    actor: UserRef | None
    message: str
    from_commit: str
    to_commit: str


class LogOut(Schema):
    promotion: int
    status: str
    terminal: bool
    waiting: str
    entries: list[LogEntry]
    next_since: int = Field(description="Pass as `since` to get only the entries after these.")


class PromotionRequest(Schema):
    features: list[str] = Field(default_factory=list, description="Feature keys, merge order.")
    collection: int | None = Field(None, description="A collection: its features are added.")
    target: int = Field(description="The instance to promote into (its id).")
    test_level: str = ""
    run_tests: str = Field("", description="Comma-separated Apex test classes.")
    dry_run: bool = Field(
        False, description="Only merge in memory: the job's result says `clean` and `conflicts`."
    )
    queue_anyway: bool = Field(
        False, description="Queue even when the dry run finds conflicts (resolve them later)."
    )


# --------------------------------------------------------------------------- reads


@router.get("/promotions", response=Page[PromotionOut], summary="List promotions")
def list_promotions(
    request: HttpRequest, paging: Query[Paging], filters: Query[PromotionFilters]
) -> dict[str, Any]:
    require_promotion_perm(request, "view")
    promotions = visible_promotions(request.user, promotions_query()).order_by("-id")
    if filters.status == "waiting":
        promotions = promotions.filter(Q(status__in=WAITING) | Q(status=PromotionStatus.RUNNING))
    elif filters.status:
        if filters.status not in PromotionStatus.values:
            raise Problem(
                400,
                f"Unknown status “{filters.status}”; use waiting or one of "
                f"{', '.join(PromotionStatus.values)}.",
            )
        promotions = promotions.filter(status=filters.status)
    if filters.target is not None:
        promotions = promotions.filter(target_id=filters.target)
    if filters.feature:
        promotions = promotions.filter(items__feature__key=filters.feature)

    def rows(shown: list[Promotion]) -> list[dict[str, Any]]:
        reasons = waiting_reasons(shown)
        return [promotion_out(request, p, reasons.get(p.pk, "")) for p in shown]

    return paginate(request, promotions, paging, rows)


@router.get("/promotions/{pk}", response=PromotionDetail, summary="One promotion, with its steps")
def get_promotion(request: HttpRequest, pk: int) -> dict[str, Any]:
    get_promotion_for(request, pk)
    return promotion_detail(request, pk)


@router.get(
    "/promotions/{pk}/log",
    response=LogOut,
    summary="The log; follow it by passing the last `next_since` back as `since`",
)
def get_log(request: HttpRequest, pk: int, since: int = 0) -> dict[str, Any]:
    promotion = get_promotion_for(request, pk)
    entries = list(
        PromotionLog.objects.filter(promotion=promotion, pk__gt=since)
        .select_related("actor")
        .order_by("id")[:LOG_LIMIT]
    )
    return {
        "promotion": promotion.pk,
        "status": promotion.status,
        # Terminal only once every entry has been handed out, so a follower misses none.
        "terminal": promotion.is_terminal and len(entries) < LOG_LIMIT,
        "waiting": waiting_reasons([promotion]).get(promotion.pk, ""),
        "entries": [
            {
                "id": e.pk,
                "at": e.at,
                "step": e.step,
                "level": e.level,
                "actor": user_ref(e.actor),
                "message": e.message,
                "from_commit": e.from_commit,
                "to_commit": e.to_commit,
            }
            for e in entries
        ],
        "next_since": entries[-1].pk if entries else since,
    }


# --------------------------------------------------------------------------- acts


@router.post(
    "/promotions",
    response={201: PromotionDetail, 202: JobOut},
    summary="Request a promotion (forward, back or entering is inferred); or dry-run it",
    description="The features and target are checked at once (a refusal is a 4xx). Then a "
    "dry run merges in memory, and a conflict refuses the request before anything is queued: "
    "that is a worker's job, so the answer is 202 with the job; poll `GET /jobs/{id}` until "
    "`terminal`. Its `result` has `clean` and `conflicts` (feature key → paths) and, when the "
    "promotion was requested, `promotion` (its id; `promotion_url`). With `dry_run`, the job "
    "only dry-runs. With `queue_anyway` (no dry run), the promotion is requested at once (201), "
    "unless the repository has a remote: its fetch is a job too (202).",
)
def create_promotion(request: HttpRequest, body: PromotionRequest) -> Status:
    need(request, Scope.PROMOTE)
    require_promotion_perm(request, "add")
    keys = list(dict.fromkeys(body.features))
    if body.collection is not None:
        collection = get_collection_for(request, body.collection)
        keys += [
            k
            for k in collection.features.order_by("key").values_list("key", flat=True)
            if k not in keys
        ]
    found = {f.key: f for f in features_by_key(keys)}
    values = {**body.dict(), "features": keys, "queue_anyway": False}
    form = PromotionRequestForm(
        form_data(values),
        # Offered in the order given, so the merge order is the caller's (a collection's last).
        offered_features=[found[k] for k in keys if k in found],
        offered_targets=[],
        allowed_targets=instances_allowing(
            request.user,
            Capability.PROMOTE,
            Instance.objects.select_related("repository", "parent"),
        ),
    )
    if not form.is_valid():
        raise form_problem(form)
    data = form.cleaned_data
    features, target = data["features"], data["target"]
    fields = {
        "features": features,
        "target": target,
        "user": acting(request),
        "collection": data["collection"],
        "test_level": data.get("test_level") or "",
        "run_tests": data.get("run_tests") or [],
    }
    queue_anyway = body.queue_anyway and not body.dry_run
    if not queue_anyway or target.repository.remote_url:
        job = queue_request(**fields, queue_anyway=queue_anyway, only_dry_run=body.dry_run)
        return accepted(request, job)
    try:
        promotion = request_promotion(**fields)
    except PromotionError as exc:
        raise refusal(exc) from None
    return Status(201, promotion_detail(request, promotion.pk))


@router.post("/promotions/{pk}/cancel", response=PromotionDetail, summary="Cancel it")
def cancel_promotion(request: HttpRequest, pk: int) -> dict[str, Any]:
    need(request, Scope.PROMOTE)
    promotion = get_promotion_for(request, pk, need="act")
    return act(request, promotion, lambda: cancel(promotion, acting(request)))


@router.post("/promotions/{pk}/retry", response=PromotionDetail, summary="Retry it")
def retry_promotion(request: HttpRequest, pk: int) -> dict[str, Any]:
    need(request, Scope.PROMOTE)
    promotion = get_promotion_for(request, pk, need="act")
    return act(request, promotion, lambda: retry(promotion, acting(request)))
