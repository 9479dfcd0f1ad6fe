"""The access page of an instance: who may do what there (grants) and its approval policy.

Only those who manage the instance (`instances.environments.permissions`: the manage
capability) change anything here; everyone who may see the instance may read it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from instances.environments.access import get_instance_for
from instances.environments.control_forms import ApprovalPolicyForm, GrantForm
from instances.environments.permissions import capabilities_on
from instances.models import ApprovalPolicy, Capability, Instance
from releasemgr.http import AuthedRequest, redirect_after_post
from releasemgr.models import AuditEvent

ACCESS_TEMPLATE = "instances/environments/instance_access.html"


def _access_context(
    request: AuthedRequest,
    instance: Instance,
    grant_form: GrantForm | None = None,
    policy_form: ApprovalPolicyForm | None = None,
) -> dict[str, Any]:
    policy = ApprovalPolicy.objects.filter(instance=instance).first()
    return {
        "instance": instance,
        "grants": instance.grants.select_related("user", "group", "created_by"),
        "grant_form": grant_form or GrantForm(instance_id=instance.pk),
        "policy": policy,
        "policy_form": policy_form or ApprovalPolicyForm(instance=policy),
        "can_manage_instance": Capability.MANAGE in capabilities_on(request.user, instance),
    }


def instance_access(request: AuthedRequest, pk: int) -> HttpResponse:
    instance = get_instance_for(request, pk)
    return render(request, ACCESS_TEMPLATE, _access_context(request, instance))


@require_POST
def grant_add(request: AuthedRequest, pk: int) -> HttpResponse:
    instance = get_instance_for(request, pk, need="manage")
    form = GrantForm(request.POST, instance_id=instance.pk)
    if not form.is_valid():
        return render(
            request,
            ACCESS_TEMPLATE,
            _access_context(request, instance, grant_form=form),
            status=400,
        )
    data = form.cleaned_data
    with transaction.atomic():
        grant = instance.grants.create(
            capability=data["capability"],
            user=data["user"],
            group=data["group"],
            created_by=request.user,
        )
        AuditEvent.record(request.user, "grant added", instance, {"grant": str(grant)})
    messages.success(request, f"Granted: {grant}.")
    return redirect_after_post(request, f"{instance.get_absolute_url()}access/")


@require_POST
def grant_delete(request: AuthedRequest, pk: int, grant_id: int) -> HttpResponse:
    instance = get_instance_for(request, pk, need="manage")
    grant = instance.grants.filter(pk=grant_id).first()
    if grant is None:
        raise Http404("No such grant on this instance.")
    with transaction.atomic():
        AuditEvent.record(request.user, "grant removed", instance, {"grant": str(grant)})
        grant.delete()
    messages.success(request, f"Removed: {grant}.")
    return redirect_after_post(request, f"{instance.get_absolute_url()}access/")


@require_POST
def policy_save(request: AuthedRequest, pk: int) -> HttpResponse:
    instance = get_instance_for(request, pk, need="manage")
    policy = ApprovalPolicy.objects.filter(instance=instance).first()
    form = ApprovalPolicyForm(request.POST, instance=policy or ApprovalPolicy(instance=instance))
    if not form.is_valid():
        return render(
            request,
            ACCESS_TEMPLATE,
            _access_context(request, instance, policy_form=form),
            status=400,
        )
    with transaction.atomic():
        saved = form.save()
        AuditEvent.record(
            request.user,
            "approval policy saved",
            instance,
            {
                "required approvals": saved.required_approvals,
                "groups": ", ".join(g.name for g in saved.approver_groups.all()),
                "users": ", ".join(u.username for u in saved.approver_users.all()),
            },
        )
    messages.success(request, f"Approval policy of {instance.name} saved.")
    return redirect_after_post(request, f"{instance.get_absolute_url()}access/")
