"""Instance pages: list, detail (with the features there and what can move), create, edit,
re-parent, delete."""

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, ProtectedError, Q
from django.forms import ModelForm
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from instances.environments.access import (
    conceal_hidden,
    get_instance_for,
    require_instance_perm,
)
from instances.environments.branches import (
    BranchNotCreated,
    create_environment_branch,
    queue_create,
)
from instances.environments.forms import InstanceFilterForm, InstanceForm, ReparentForm
from instances.environments.permissions import capabilities_on, visible_instances
from instances.environments.presence import instance_features, read_branch_heads, recent_promotions
from instances.models import AuthMethod, Capability, Instance, OrgConnection
from releasemgr.http import AuthedRequest, redirect_after_post
from releasemgr.ids import parse_id
from releasemgr.models import AuditEvent


def password_login_exists() -> Exists:
    """Whether the instance's active connection still logs in with SOAP login()."""
    return Exists(
        OrgConnection.objects.filter(
            instance=OuterRef("pk"), is_active=True, auth_method=AuthMethod.PASSWORD
        )
    )


def instance_list(request: AuthedRequest) -> HttpResponse:
    require_instance_perm(request, "view")
    filters = InstanceFilterForm(request.GET or None)
    instances = (
        visible_instances(request.user, Instance.objects.select_related("repository", "parent"))
        .annotate(on_password_login=password_login_exists())
        .order_by("repository__name", "name")
    )
    if filters.is_valid():
        if filters.cleaned_data["repository"]:
            instances = instances.filter(repository=filters.cleaned_data["repository"])
        if filters.cleaned_data["purpose"]:
            instances = instances.filter(purpose=filters.cleaned_data["purpose"])
        if filters.cleaned_data["q"]:
            q = filters.cleaned_data["q"]
            instances = instances.filter(Q(name__icontains=q) | Q(branch__icontains=q))
    template = "instances/environments/instance_list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    rows = list(instances)
    conceal_hidden(request, rows)
    return render(request, template, {"instances": rows, "filters": filters})


def instance_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    instance = get_instance_for(request, pk)
    conceal_hidden(request, [instance])
    connections = list(instance.org_connections.select_related("created_by"))
    visible = set(visible_instances(request.user).values_list("pk", flat=True))
    can = capabilities_on(request.user, instance)
    return render(
        request,
        "instances/environments/instance_detail.html",
        {
            "instance": instance,
            "children": instance.children.select_related("repository")
            .filter(pk__in=visible)
            .order_by("name"),
            "ancestors": [a for a in instance.ancestors() if a.pk in visible],
            "can_manage_instance": Capability.MANAGE in can,
            "can_deploy_instance": Capability.DEPLOY in can,
            "can_promote_instance": Capability.PROMOTE in can,
            "connection": next((c for c in connections if c.is_active), None),
            "past_connections": [c for c in connections if not c.is_active],
            "deployments": instance.deployments.order_by("-id")[:5],
            "features": instance_features(instance),
            "promotions": recent_promotions(instance, request.user),
            "events": AuditEvent.for_object(instance)[:20],
            "branch_head": _branch_head(instance),
        },
    )


def _branch_head(instance: Instance) -> str | None:
    """The branch's head in the local storage; "" when the branch is missing, None when the
    storage itself is not there yet (nothing to say)."""
    heads = read_branch_heads(instance.repository, [instance.branch])
    if heads is None:
        return None
    return heads[instance.branch]


@require_POST
def instance_create_branch(request: AuthedRequest, pk: int) -> HttpResponse:
    """Create a missing environment branch from its parent's branch (or the main branch); a
    job when the repository has a remote."""
    instance = get_instance_for(request, pk, need="change")
    if instance.repository.remote_url:
        job = queue_create(instance, request.user)
        return redirect_after_post(request, job.get_absolute_url())
    try:
        messages.success(request, create_environment_branch(instance, request.user))
    except BranchNotCreated as exc:
        messages.error(request, str(exc))
    return redirect_after_post(request, instance.get_absolute_url())


def _changes(form: ModelForm) -> dict[str, str]:
    return {name: str(form.cleaned_data.get(name)) for name in form.changed_data}


def _save_form(request: AuthedRequest, form: ModelForm, action: str) -> Instance | None:
    """Save an instance form, turning a lost race with another writer into a form error."""
    if not form.is_valid():
        return None
    try:
        with transaction.atomic():
            instance = form.save()
            AuditEvent.record(request.user, action, instance, _changes(form))
    except IntegrityError:
        form.add_error(None, "Another change to the hierarchy got there first; check and retry.")
        return None
    return instance


def _render_form(
    request: AuthedRequest, form: ModelForm, instance: Instance | None, title: str
) -> HttpResponse:
    template = "instances/environments/instance_form.html"
    if request.htmx:
        template += "#form"
    return render(request, template, {"form": form, "instance": instance, "title": title})


@require_http_methods(["GET", "POST"])
def instance_create(request: AuthedRequest) -> HttpResponse:
    require_instance_perm(request, "add")
    initial = {}
    if (parent_id := parse_id(request.GET.get("parent", ""))) is not None:
        parent = visible_instances(request.user).filter(pk=parent_id).first()
        if parent is not None:
            initial = {"parent": parent, "repository": parent.repository}
    form = InstanceForm(request.POST or None, initial=initial)
    if request.method == "POST" and (instance := _save_form(request, form, "created")):
        messages.success(request, f"Instance “{instance}” created.")
        return redirect_after_post(request, instance.get_absolute_url())
    return _render_form(request, form, None, "New instance")


@require_http_methods(["GET", "POST"])
def instance_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    instance = get_instance_for(request, pk, need="change")
    form = InstanceForm(request.POST or None, instance=instance)
    if request.method == "POST" and (saved := _save_form(request, form, "changed")):
        messages.success(request, f"Instance “{saved}” saved.")
        return redirect_after_post(request, saved.get_absolute_url())
    return _render_form(request, form, instance, f"Edit {instance.name}")


@require_http_methods(["GET", "POST"])
def instance_reparent(request: AuthedRequest, pk: int) -> HttpResponse:
    instance = get_instance_for(request, pk, need="change")
    old_parent = instance.parent
    form = ReparentForm(request.POST or None, instance=instance)
    if request.method == "POST" and (saved := _save_form(request, form, "re-parented")):
        messages.success(
            request,
            f"“{saved}” now promotes to {saved.parent or 'nothing (a root)'}"
            f" (was {old_parent or 'a root'}).",
        )
        return redirect_after_post(request, saved.get_absolute_url())
    template = "instances/environments/instance_reparent.html"
    if request.htmx:
        template += "#form"
    return render(request, template, {"form": form, "instance": instance})


@require_http_methods(["GET", "POST"])
def instance_delete(request: AuthedRequest, pk: int) -> HttpResponse:
    instance = get_instance_for(request, pk, need="delete")
    children = list(instance.children.order_by("name"))
    if request.method == "POST" and not children:
        try:
            with transaction.atomic():
                AuditEvent.record(request.user, "deleted", instance)
                instance.delete()
        except ProtectedError:
            messages.error(request, f"“{instance}” still has children; move them first.")
            return redirect_after_post(request, instance.get_absolute_url())
        messages.success(request, f"Instance “{instance}” deleted. Its git branch was kept.")
        return redirect_after_post(request, reverse("instance_list"))
    return render(
        request,
        "instances/environments/instance_confirm_delete.html",
        {"instance": instance, "children": children},
        status=409 if request.method == "POST" else 200,
    )
