"""What the promotion endpoints answer with: a promotion in a list, one with its steps, items,
approvals and conflicts (the same shapes for a read and for the answer to an act), and the one
way an act turns a refusal into a problem document."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Schema

from instances.api.auth import acting
from instances.api.common import InstanceRef, UserRef, absolute, instance_ref, user_ref
from instances.api.problems import refusal
from instances.models import Promotion
from instances.promotions import conflicts as conflict_text
from instances.promotions.errors import PromotionError
from instances.promotions.queue import waiting_reasons
from instances.promotions.rules import Action, allowed_actions
from instances.promotions.views.promotions import step_states


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


def promotions_query() -> Any:
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
    promotion = promotions_query().get(pk=pk)
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
        "approvals": approvals_out(promotion),
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


def approvals_out(promotion: Promotion) -> list[dict[str, Any]]:
    return [
        {"user": user_ref(a.user), "decision": a.decision, "reason": a.reason, "at": a.at}
        for a in promotion.approvals.select_related("user")
    ]


def act(request: HttpRequest, promotion: Promotion, action: Callable[[], Any]) -> dict[str, Any]:
    try:
        action()
    except PromotionError as exc:
        raise refusal(exc) from None
    return promotion_detail(request, promotion.pk)
