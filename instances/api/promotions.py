"""Promotions: list, one promotion with its steps, its log (followed with a `since` cursor), its
approvals and conflicts; request one (with a dry run first), approve, reject, cancel, retry,
resolve, roll back. Each act is the page's: the same access helper, form and domain function.
A dry run, and a request that must fetch from a remote first, is a job the caller polls
(jobs.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.db.models import Q
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from branching.access import get_collection_for
from branching.models import Feature
from instances.api.auth import acting, need
from instances.api.common import (
    InstanceRef,
    Page,
    Paging,
    UserRef,
    absolute,
    form_data,
    instance_ref,
    paginate,
    user_ref,
)
from instances.api.jobs import JobOut, accepted
from instances.api.problems import Problem, form_problem, refusal
from instances.environments.permissions import instances_allowing, visible_promotions
from instances.models import Capability, Instance, Promotion, PromotionLog, PromotionStatus
from instances.models.promotion import WAITING
from instances.promotions import conflicts as conflict_text
from instances.promotions.access import get_promotion_for, require_promotion_perm
from instances.promotions.forms import PromotionRequestForm, ResolutionForm, RollbackForm
from instances.promotions.irreversible import what_stays
from instances.promotions.queue import waiting_reasons
from instances.promotions.requests import queue_request
from instances.promotions.rules import (
    Action,
    PromotionError,
    allowed_actions,
    approve,
    cancel,
    reject,
    request_promotion,
    request_rollback,
    retry,
)
from instances.promotions.views.promotions import step_states
from releasemgr.models import Scope

router = Router(tags=["promotions"])

LOG_LIMIT = 500


class PromotionFilters(Schema):
    status: str | None = Field(
        None, description="A status, or “waiting” for awaiting approval, queued or running."
    )
    target: int | None = None
    feature: str | None = None


class ItemOut(Schema):
    feature: str
    commit: str


class StepOut(Schema):
    label: str
    state: str


class ApprovalOut(Schema):
    user: UserRef
    decision: str
    reason: str
    at: datetime


class ConflictOut(Schema):
    path: str
    kinds: list[str] = []
    base: str | None = None
    ours: str | None = None
    theirs: str | None = None
    result: str | None = None
    editable: bool = Field(
        description="Whether its text is complete, valid UTF-8 and may be resolved as text; "
        "otherwise the sides above are for reading only (cut, or decoded with replacements)."
    )
    why_not_editable: str = Field(description="Why it cannot be resolved as text, in words.")
    take: list[str] = Field(
        description="The sides that may be taken whole (`take`), keeping their bytes exactly."
    )


class AutoResolutionOut(Schema):
    path: str
    recorded: int | None = Field(description="The recorded resolution replayed.")
    promotion: int | None = Field(description="The promotion it was made in.")
    conflict_id: str


class PromotionOut(Schema):
    id: int
    direction: str
    status: str
    target: InstanceRef
    source: InstanceRef | None
    features: list[str]
    collection_id: int | None
    rollback_of: int | None = Field(None, description="A rollback: the promotion it reverts.")
    requested_by: UserRef
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    waiting: str = Field(description="Why it has not finished yet, in words; empty once it has.")
    failure_reason: str
    url: str


class PromotionDetail(PromotionOut):
    step: int
    step_label: str
    steps: list[StepOut]
    attempt: int
    items: list[ItemOut]
    test_level: str
    run_tests: list[str]
    target_head_before: str
    merged_head: str
    target_head_after: str
    approvals: list[ApprovalOut]
    conflicts: list[ConflictOut]
    auto_resolutions: list[AutoResolutionOut] = Field(
        description="Paths the last merge resolved by replaying a recorded resolution."
    )
    deployments: list[int]
    actions: list[str] = Field(description="What the caller may do to it now (its buttons).")
    can_approve: bool
    can_act: bool


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


class Reason(Schema):
    reason: str = ""


class RollbackRequest(Schema):
    acknowledge: bool = Field(
        False, description="Acknowledge what the rollback cannot undo (GET lists it); required."
    )


class CannotUndo(Schema):
    title: str
    detail: str
    components: list[str]


class RollbackPreview(Schema):
    promotion: int
    allowed: bool = Field(description="Whether the caller may roll it back now.")
    refused: str = Field(description="Why not, when not.")
    features: list[str]
    reverts: list[str] = Field(description="The commits before and after its merges.")
    cannot_undo: list[CannotUndo]
    note: str = Field(description="Why the package could not be read, when it could not.")


class Resolutions(Schema):
    resolutions: dict[str, str] = Field(
        default_factory=dict,
        description="Conflicted path → its resolved content (only for editable paths).",
    )
    take: dict[str, Literal["ours", "theirs"]] = Field(
        default_factory=dict,
        description="Conflicted path → the side to take whole, byte for byte.",
    )


def conflicts_out(promotion: Promotion) -> list[dict[str, Any]]:
    return [
        {
            **conflict,
            "editable": conflict_text.is_editable(conflict),
            "why_not_editable": conflict_text.why_not_editable(conflict),
            "take": conflict_text.take_choices(conflict),
        }
        for conflict in promotion.conflicts or []
    ]


def _promotions() -> Any:
    return Promotion.objects.select_related(
        "target", "source", "requested_by", "collection"
    ).prefetch_related("items__feature")


def promotion_out(request: HttpRequest, promotion: Promotion, waiting: str) -> dict[str, Any]:
    return {
        "id": promotion.pk,
        "direction": promotion.direction,
        "status": promotion.status,
        "target": instance_ref(promotion.target),
        "source": instance_ref(promotion.source),
        "features": [item.feature.key for item in promotion.items.all()],
        "collection_id": promotion.collection_id,
        "rollback_of": promotion.rollback_of_id,
        "requested_by": user_ref(promotion.requested_by),
        "requested_at": promotion.requested_at,
        "started_at": promotion.started_at,
        "finished_at": promotion.finished_at,
        "waiting": waiting,
        "failure_reason": promotion.failure_reason,
        "url": absolute(request, promotion.get_absolute_url()),
    }


def promotion_detail(request: HttpRequest, pk: int) -> dict[str, Any]:
    promotion = _promotions().get(pk=pk)
    allowed = allowed_actions(promotion, acting(request))
    waiting = waiting_reasons([promotion]).get(promotion.pk, "")
    return {
        **promotion_out(request, promotion, waiting),
        "step": promotion.step,
        "step_label": promotion.get_step_display(),
        "steps": [{"label": label, "state": state} for label, state in step_states(promotion)],
        "attempt": promotion.attempt,
        "items": [{"feature": i.feature.key, "commit": i.commit} for i in promotion.items.all()],
        "test_level": promotion.test_level,
        "run_tests": list(promotion.run_tests or []),
        "target_head_before": promotion.target_head_before,
        "merged_head": promotion.merged_head,
        "target_head_after": promotion.target_head_after,
        "approvals": _approvals(promotion),
        "conflicts": conflicts_out(promotion),
        "auto_resolutions": [
            {
                "path": path,
                "recorded": entry.get("recorded"),
                "promotion": entry.get("promotion"),
                "conflict_id": entry.get("conflict_id", ""),
            }
            for path, entry in sorted((promotion.auto_resolutions or {}).items())
        ],
        "deployments": list(promotion.deployments.order_by("id").values_list("id", flat=True)),
        "actions": [str(action) for action in Action if action in allowed],
        "can_approve": Action.APPROVE in allowed,
        "can_act": Action.CANCEL in allowed.permitted,
    }


def _approvals(promotion: Promotion) -> list[dict[str, Any]]:
    return [
        {"user": user_ref(a.user), "decision": a.decision, "reason": a.reason, "at": a.at}
        for a in promotion.approvals.select_related("user")
    ]


# --------------------------------------------------------------------------- reads


@router.get("/promotions", response=Page[PromotionOut], summary="List promotions")
def list_promotions(
    request: HttpRequest, paging: Query[Paging], filters: Query[PromotionFilters]
) -> dict[str, Any]:
    require_promotion_perm(request, "view")
    promotions = visible_promotions(request.user, _promotions()).order_by("-id")
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


@router.get("/promotions/{pk}/approvals", response=list[ApprovalOut], summary="Its decisions")
def get_approvals(request: HttpRequest, pk: int) -> list[dict[str, Any]]:
    return _approvals(get_promotion_for(request, pk))


@router.get(
    "/promotions/{pk}/conflicts",
    response=list[ConflictOut],
    summary="Conflicted paths with base, ours, theirs and git's result",
)
def get_conflicts(request: HttpRequest, pk: int) -> list[dict[str, Any]]:
    return conflicts_out(get_promotion_for(request, pk))


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
    found = {f.key: f for f in Feature.objects.filter(key__in=keys)}
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


def _act(request: HttpRequest, promotion: Promotion, action: Any) -> dict[str, Any]:
    try:
        action()
    except PromotionError as exc:
        raise refusal(exc) from None
    return promotion_detail(request, promotion.pk)


@router.post("/promotions/{pk}/approve", response=PromotionDetail, summary="Approve it")
def approve_promotion(request: HttpRequest, pk: int, body: Reason) -> dict[str, Any]:
    need(request, Scope.APPROVE)
    promotion = get_promotion_for(request, pk, need="approve")
    return _act(
        request, promotion, lambda: approve(promotion, acting(request), body.reason.strip())
    )


@router.post("/promotions/{pk}/reject", response=PromotionDetail, summary="Reject it")
def reject_promotion(request: HttpRequest, pk: int, body: Reason) -> dict[str, Any]:
    need(request, Scope.APPROVE)
    promotion = get_promotion_for(request, pk, need="approve")
    return _act(request, promotion, lambda: reject(promotion, acting(request), body.reason.strip()))


@router.post("/promotions/{pk}/cancel", response=PromotionDetail, summary="Cancel it")
def cancel_promotion(request: HttpRequest, pk: int) -> dict[str, Any]:
    need(request, Scope.PROMOTE)
    promotion = get_promotion_for(request, pk, need="act")
    return _act(request, promotion, lambda: cancel(promotion, acting(request)))


@router.post("/promotions/{pk}/retry", response=PromotionDetail, summary="Retry it")
def retry_promotion(request: HttpRequest, pk: int) -> dict[str, Any]:
    need(request, Scope.PROMOTE)
    promotion = get_promotion_for(request, pk, need="act")
    return _act(request, promotion, lambda: retry(promotion, acting(request)))


@router.post(
    "/promotions/{pk}/resolve",
    response=PromotionDetail,
    summary="Retry a conflicted promotion with the resolved content of its conflicted paths",
)
def resolve_promotion(request: HttpRequest, pk: int, body: Resolutions) -> dict[str, Any]:
    need(request, Scope.PROMOTE)
    promotion = get_promotion_for(request, pk, need="act")
    if promotion.status != PromotionStatus.CONFLICTED:
        raise Problem(409, f"Promotion #{promotion.pk} has no conflicts to resolve now.")
    form = ResolutionForm(conflicts=promotion.conflicts)
    texts = {str(conflict.get("path")): name for conflict, name, _ in form.entries if name}
    takes = {str(conflict.get("path")): name for conflict, _, name in form.entries if name}
    known = {str(conflict.get("path")): conflict for conflict, _, _ in form.entries}
    errors = [
        f"{p}: not a conflicted path of promotion #{promotion.pk}."
        for p in sorted((set(body.resolutions) | set(body.take)) - set(known))
    ]
    errors += [
        f"{p} cannot be resolved as text here: "
        f"{conflict_text.why_not_editable(known[p])}; take one side whole (take)."
        for p in sorted(set(body.resolutions) & set(known) - set(texts))
    ]
    errors += [
        f"{p}: no side of it can be taken whole here."
        for p in sorted(set(body.take) & set(known) - set(takes))
    ]
    if errors:
        raise Problem(
            400,
            "Not a conflicted path of promotion "
            f"#{promotion.pk} that can be resolved that way: " + " ".join(errors),
            errors={"resolutions": errors},
        )
    values: dict[str, Any] = {texts[p]: text for p, text in body.resolutions.items()}
    values.update({takes[p]: side for p, side in body.take.items()})
    form = ResolutionForm(form_data(values), conflicts=promotion.conflicts, partial=True)
    if not form.is_valid():
        raise form_problem(form)
    asked = set(body.resolutions) | set(body.take)
    given = {p: r for p, r in form.resolutions().items() if p in asked}
    return _act(request, promotion, lambda: retry(promotion, acting(request), given))


@router.get(
    "/promotions/{pk}/rollback",
    response=RollbackPreview,
    summary="What rolling it back would revert, and what a rollback cannot undo",
)
def preview_rollback(request: HttpRequest, pk: int) -> dict[str, Any]:
    promotion = get_promotion_for(request, pk, need="rollback")
    allowed = allowed_actions(promotion, acting(request))
    stays, note = what_stays(promotion)
    return {
        "promotion": promotion.pk,
        "allowed": Action.ROLLBACK in allowed,
        "refused": allowed.refused.get(Action.ROLLBACK, ""),
        "features": [i.feature.key for i in promotion.items.select_related("feature")],
        "reverts": [promotion.target_head_before, promotion.target_head_after],
        "cannot_undo": [
            {"title": s.title, "detail": s.detail, "components": s.components} for s in stays
        ],
        "note": note,
    }


@router.post(
    "/promotions/{pk}/rollback",
    response={201: PromotionDetail},
    summary="Roll it back: queue a rollback promotion into the same instance",
    description="The rollback reverts the promotion's merges on the target branch and deploys "
    "the inverse; it needs `acknowledge` of what it cannot undo (400 without it) and the "
    "target's approvals like any promotion. 409 when it cannot be rolled back now.",
)
def rollback_promotion(request: HttpRequest, pk: int, body: RollbackRequest) -> Status:
    need(request, Scope.PROMOTE)
    promotion = get_promotion_for(request, pk, need="rollback")
    user = acting(request)
    try:
        allowed_actions(promotion, user).check(Action.ROLLBACK)
    except PromotionError as exc:
        raise refusal(exc) from None
    form = RollbackForm(form_data(body.dict()))
    if not form.is_valid():
        raise form_problem(form)
    stays, _ = what_stays(promotion)
    try:
        rollback = request_rollback(
            promotion, user, acknowledge=True, acknowledged=[s.title for s in stays]
        )
    except PromotionError as exc:
        raise refusal(exc) from None
    return Status(201, promotion_detail(request, rollback.pk))
