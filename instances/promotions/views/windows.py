"""Deployment windows and freezes of an instance or of a repository (every instance of it).

Everyone who may see the instance reads the page; those who manage it (or, for a repository,
release managers) add and remove windows, freeze and lift freezes.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from branching.access import get_repository_for
from branching.models import Repository
from instances.environments import windows
from instances.environments.access import get_instance_for
from instances.environments.permissions import capabilities_on
from instances.models import Capability, DeploymentWindow, Freeze, Instance
from instances.promotions import overrides
from instances.promotions.window_forms import FreezeForm, WindowForm
from releasemgr.http import AuthedRequest, redirect_after_post
from releasemgr.models import AuditEvent

WINDOWS_TEMPLATE = "instances/promotions/windows.html"


def _scope(request: AuthedRequest, kind: str, pk: int, manage: bool) -> Instance | Repository:
    if kind == "instance":
        return get_instance_for(request, pk, need="manage" if manage else "view")
    return get_repository_for(request, pk, need="change" if manage else "view")


def _scope_filter(scope: Instance | Repository) -> dict[str, Any]:
    return {"instance": scope} if isinstance(scope, Instance) else {"repository": scope}


def _base_url(scope: Instance | Repository) -> str:
    kind = "instances" if isinstance(scope, Instance) else "repositories"
    return f"/{kind}/{scope.pk}/"


def _windows_url(scope: Instance | Repository) -> str:
    return _base_url(scope) + "windows/"


def _windows_context(
    request: AuthedRequest,
    scope: Instance | Repository,
    window_form: WindowForm | None = None,
    freeze_form: FreezeForm | None = None,
) -> dict[str, Any]:
    where = _scope_filter(scope)
    if isinstance(scope, Instance):
        closure = windows.closure_of(scope)
        can_manage = Capability.MANAGE in capabilities_on(request.user, scope)
        inherited = {
            "windows": DeploymentWindow.objects.filter(repository_id=scope.repository_id),
            "freezes": Freeze.objects.filter(
                repository_id=scope.repository_id, lifted_at__isnull=True
            ),
        }
    else:
        closure = None
        can_manage = request.user.has_perm("branching.change_repository")
        inherited = {}
    return {
        "scope": scope,
        "is_instance": isinstance(scope, Instance),
        "windows_url": _windows_url(scope),
        "base_url": _base_url(scope),
        "windows": DeploymentWindow.objects.filter(**where),
        "freezes": Freeze.objects.filter(**where).select_related("created_by", "lifted_by")[:20],
        "inherited": inherited,
        "closure": closure,
        "can_manage_scope": can_manage,
        "window_form": window_form or WindowForm(),
        "freeze_form": freeze_form or FreezeForm(),
    }


def windows_page(request: AuthedRequest, kind: str, pk: int) -> HttpResponse:
    scope = _scope(request, kind, pk, manage=False)
    return render(request, WINDOWS_TEMPLATE, _windows_context(request, scope))


@require_POST
def window_add(request: AuthedRequest, kind: str, pk: int) -> HttpResponse:
    scope = _scope(request, kind, pk, manage=True)
    form = WindowForm(request.POST, instance=DeploymentWindow(**_scope_filter(scope)))
    if not form.is_valid():
        return render(
            request,
            WINDOWS_TEMPLATE,
            _windows_context(request, scope, window_form=form),
            status=400,
        )
    with transaction.atomic():
        window = form.save(commit=False)
        window.created_by = request.user
        window.save()
        AuditEvent.record(
            request.user,
            "window added",
            scope,
            {"kind": window.kind, "rule": window.rule, "time zone": window.time_zone},
        )
    messages.success(request, f"{window.get_kind_display()} “{window}” added.")
    return redirect_after_post(request, _windows_url(scope))


@require_POST
def window_delete(request: AuthedRequest, kind: str, pk: int, window_id: int) -> HttpResponse:
    scope = _scope(request, kind, pk, manage=True)
    window = DeploymentWindow.objects.filter(pk=window_id, **_scope_filter(scope)).first()
    if window is None:
        raise Http404("No such window here.")
    with transaction.atomic():
        AuditEvent.record(request.user, "window removed", scope, {"rule": window.rule})
        window.delete()
    overrides.redispatch(scope)
    messages.success(request, f"Window “{window}” removed.")
    return redirect_after_post(request, _windows_url(scope))


@require_POST
def freeze_now(request: AuthedRequest, kind: str, pk: int) -> HttpResponse:
    scope = _scope(request, kind, pk, manage=True)
    form = FreezeForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            WINDOWS_TEMPLATE,
            _windows_context(request, scope, freeze_form=form),
            status=400,
        )
    freeze = windows.freeze(
        scope, request.user, form.cleaned_data["reason"], form.cleaned_data["ends_at"]
    )
    messages.success(request, f"{scope} is frozen: {freeze.reason}")
    return redirect_after_post(request, _windows_url(scope))


@require_POST
def freeze_lift(request: AuthedRequest, kind: str, pk: int, freeze_id: int) -> HttpResponse:
    scope = _scope(request, kind, pk, manage=True)
    freeze = Freeze.objects.filter(pk=freeze_id, **_scope_filter(scope)).first()
    if freeze is None:
        raise Http404("No such freeze here.")
    if not overrides.lift(freeze, request.user):
        messages.error(request, "That freeze was already lifted.")
    else:
        messages.success(request, f"Freeze of {scope} lifted.")
    return redirect_after_post(request, _windows_url(scope))
