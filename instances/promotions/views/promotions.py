"""Promotion pages: the list, the live promotion page, and its actions.

Each action is a thin POST view around one domain function of `instances.promotions`; a refusal
from the domain (`PromotionError`) becomes a message on the promotion page, never an error page.
While a promotion is unfinished its page polls itself; the answer that finds it finished says
"stop polling" (286) and carries the final state.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseStopPolling

from instances.environments.permissions import visible_instances, visible_promotions
from instances.models import Promotion, PromotionStatus, Step, WindowOverride
from instances.models.promotion import WAITING
from instances.promotions import overrides
from instances.promotions.access import get_promotion_for, require_promotion_perm
from instances.promotions.approvals import resolution_diffs
from instances.promotions.errors import PromotionError
from instances.promotions.forms import PromotionFilterForm, ResolutionForm, RollbackForm
from instances.promotions.irreversible import what_stays
from instances.promotions.queue import waiting_reason, waiting_reasons
from instances.promotions.rules import (
    Action,
    allowed_actions,
    approve,
    cancel,
    reject,
    request_rollback,
    retry,
)
from instances.promotions.window_forms import OverrideForm
from releasemgr.http import AuthedRequest, redirect_after_post

TEMPLATE = "instances/promotions/promotion_detail.html"
PAGE_SIZE = 50
FAILED = {PromotionStatus.FAILED, PromotionStatus.ERRORED, PromotionStatus.CONFLICTED}


def promotion_list(request: AuthedRequest) -> HttpResponse:
    require_promotion_perm(request, "view")
    filters = PromotionFilterForm(request.GET or None)
    filters.fields["target"].queryset = visible_instances(request.user).order_by("name")  # type: ignore[attr-defined]
    promotions = (
        visible_promotions(request.user)
        .select_related("target", "source", "requested_by")
        .prefetch_related("items__feature")
        .order_by("-id")
    )
    if filters.is_valid():
        status, target = filters.cleaned_data["status"], filters.cleaned_data["target"]
        if status == "waiting":
            promotions = promotions.filter(
                Q(status__in=WAITING) | Q(status=PromotionStatus.RUNNING)
            )
        elif status:
            promotions = promotions.filter(status=status)
        if target:
            promotions = promotions.filter(target=target)
    page = Paginator(promotions, PAGE_SIZE).get_page(request.GET.get("page"))
    shown = list(page.object_list)
    reasons = waiting_reasons(shown)
    rows = [(p, reasons.get(p.pk, "")) for p in shown]
    template = "instances/promotions/promotion_list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, {"page": page, "rows": rows, "filters": filters})


def step_states(promotion: Promotion) -> list[tuple[str, str]]:
    """(label, state) for the progress bar: done, current, stopped or todo."""
    out = []
    for step in Step:
        if step == Step.NONE:
            continue
        if step <= promotion.step:
            state = "done"
        elif step == promotion.step + 1 and promotion.status == PromotionStatus.RUNNING:
            state = "current"
        elif step == promotion.step + 1 and promotion.status in FAILED:
            state = "stopped"
        else:
            state = "todo"
        out.append((step.label, state))
    return out


def _context(
    request: AuthedRequest, promotion: Promotion, resolution_form: ResolutionForm | None = None
) -> dict[str, Any]:
    user = request.user
    if (
        resolution_form is None
        and promotion.status == PromotionStatus.CONFLICTED
        and promotion.conflicts
    ):
        resolution_form = ResolutionForm(
            conflicts=promotion.conflicts, target_name=promotion.target.name
        )
    return {
        "override": WindowOverride.objects.filter(promotion=promotion)
        .select_related("user")
        .first(),
        "promotion": promotion,
        "items": promotion.items.select_related("feature"),
        "log": promotion.log.select_related("actor"),
        "approvals": promotion.approvals.select_related("user"),
        "steps": step_states(promotion),
        "step_count": len(Step) - 1,
        "waiting": waiting_reason(promotion),
        "actions": allowed_actions(promotion, user),
        "resolution_diffs": resolution_diffs(promotion)
        if promotion.resolutions or promotion.auto_resolutions
        else [],
        "resolution_form": resolution_form,
        # Recorded resolutions the request's dry run replayed, before the merge replays them.
        "replays_ahead": promotion.step < Step.MERGED,
        "deployments": promotion.deployments.order_by("id"),
        "rollbacks": promotion.rollbacks.order_by("-id"),
    }


def promotion_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    promotion = get_promotion_for(request, pk)
    context = _context(request, promotion)
    if request.htmx and not request.htmx.boosted:
        live = render_to_string(TEMPLATE + "#live", context, request=request)
        return HttpResponseStopPolling(live) if promotion.is_terminal else HttpResponse(live)
    return render(request, TEMPLATE, context)


def _act(
    request: AuthedRequest, promotion: Promotion, action: Callable[[], None], done: str
) -> HttpResponse:
    try:
        action()
    except PromotionError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)
    return redirect_after_post(request, promotion.get_absolute_url())


@require_POST
def promotion_approve(request: AuthedRequest, pk: int) -> HttpResponse:
    promotion = get_promotion_for(request, pk, need="approve")
    reason = request.POST.get("reason", "").strip()
    return _act(
        request,
        promotion,
        lambda: approve(promotion, request.user, reason),
        f"Promotion #{promotion.pk} approved and queued.",
    )


@require_POST
def promotion_reject(request: AuthedRequest, pk: int) -> HttpResponse:
    promotion = get_promotion_for(request, pk, need="approve")
    reason = request.POST.get("reason", "").strip()
    return _act(
        request,
        promotion,
        lambda: reject(promotion, request.user, reason),
        f"Promotion #{promotion.pk} rejected.",
    )


@require_POST
def promotion_cancel(request: AuthedRequest, pk: int) -> HttpResponse:
    promotion = get_promotion_for(request, pk, need="act")
    return _act(
        request,
        promotion,
        lambda: cancel(promotion, request.user),
        f"Promotion #{promotion.pk} cancelled.",
    )


@require_POST
def promotion_retry(request: AuthedRequest, pk: int) -> HttpResponse:
    promotion = get_promotion_for(request, pk, need="act")
    return _act(
        request,
        promotion,
        lambda: retry(promotion, request.user),
        f"Promotion #{promotion.pk} queued again.",
    )


@require_POST
def promotion_resolve(request: AuthedRequest, pk: int) -> HttpResponse:
    """Retry a conflicted promotion with the resolved content of each conflicted path."""
    promotion = get_promotion_for(request, pk, need="act")
    try:
        allowed_actions(promotion, request.user).check(Action.RESOLVE)
    except PromotionError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect_after_post(request, promotion.get_absolute_url())
    form = ResolutionForm(
        request.POST, conflicts=promotion.conflicts, target_name=promotion.target.name
    )
    if not form.is_valid():
        return render(request, TEMPLATE, _context(request, promotion, form))
    return _act(
        request,
        promotion,
        lambda: retry(promotion, request.user, form.resolutions()),
        f"Promotion #{promotion.pk} queued again with your resolutions.",
    )


@require_POST
def promotion_override(request: AuthedRequest, pk: int) -> HttpResponse:
    """Push one queued promotion through a frozen or closed target, with a justification."""
    promotion = get_promotion_for(request, pk, need="override")
    form = OverrideForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.errors["justification"]))
        return redirect_after_post(request, promotion.get_absolute_url())
    try:
        overrides.override(promotion, request.user, form.cleaned_data["justification"])
    except overrides.OverrideError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Promotion #{promotion.pk} goes through: override recorded.")
    return redirect_after_post(request, promotion.get_absolute_url())


def promotion_rollback(request: AuthedRequest, pk: int) -> HttpResponse:
    """Confirm a rollback: what it reverts, what it cannot undo, and an acknowledgement; then
    queue the rollback promotion and follow it on its own page."""
    promotion = get_promotion_for(request, pk, need="rollback")
    try:
        allowed_actions(promotion, request.user).check(Action.ROLLBACK)
    except PromotionError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect_after_post(request, promotion.get_absolute_url())
    stays, note = what_stays(promotion)
    form = RollbackForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            rollback = request_rollback(
                promotion, request.user, acknowledge=True, acknowledged=[s.title for s in stays]
            )
        except PromotionError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect_after_post(request, promotion.get_absolute_url())
        messages.success(
            request, f"Rollback #{rollback.pk} of promotion #{promotion.pk} asked for."
        )
        return redirect_after_post(request, rollback.get_absolute_url())
    context = {
        "promotion": promotion,
        "items": promotion.items.select_related("feature"),
        "stays": stays,
        "note": note,
        "form": form,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "instances/promotions/promotion_rollback.html", context, status=status)
