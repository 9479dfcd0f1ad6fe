"""Feature pages: list, start, detail.

They live in `instances` although Feature is `branching`'s: each page says where a feature is
in the pipeline of instances, which `branching` knows nothing of.
"""

import shlex

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.text import slugify
from django.views.decorators.http import require_http_methods

from branching import workspace
from branching.access import get_feature_for, require_feature_perm
from branching.features import FeatureError
from branching.git.errors import RepositoryDamaged
from branching.git.remote import RemoteError
from branching.models import Feature
from instances.environments.access import conceal_hidden
from instances.environments.permissions import (
    visible_instances,
    visible_promotions,
)
from instances.environments.presence import presence_rows, read_branch_heads
from instances.models import FeaturePresence, Instance, Promotion
from instances.promotions.feature_forms import FeatureFilterForm, FeatureStartForm
from instances.promotions.features import queue_start, start_from_instance
from instances.promotions.routing import route_label, targets_offered
from releasemgr.http import AuthedRequest, redirect_after_post
from releasemgr.ids import parse_id
from releasemgr.models import AuditEvent

PAGE_SIZE = 50


def feature_list(request: AuthedRequest) -> HttpResponse:
    require_feature_perm(request, "view")
    filters = FeatureFilterForm(request.GET or None)
    visible = visible_instances(request.user)
    filters.fields["instance"].queryset = visible.order_by("name")  # type: ignore[attr-defined]
    features = (
        Feature.objects.select_related("repository", "owner", "started_from")
        .prefetch_related(
            Prefetch(
                "presences",
                queryset=FeaturePresence.objects.filter(instance__in=visible).select_related(
                    "instance"
                ),
            )
        )
        .order_by("-created_at", "-id")
    )
    if filters.is_valid():
        data = filters.cleaned_data
        if data["repository"]:
            features = features.filter(repository=data["repository"])
        if data["owner"] == "mine":
            features = features.filter(owner=request.user)
        if data["instance"]:
            features = features.filter(presences__instance=data["instance"])
        if data["q"]:
            features = features.filter(Q(key__icontains=data["q"]) | Q(title__icontains=data["q"]))
    page = Paginator(features, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = conceal_hidden(request, page.object_list, "started_from")
    template = "instances/promotions/feature_list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, {"page": page, "filters": filters})


def _start(request: AuthedRequest, form: FeatureStartForm) -> HttpResponse | None:
    """Start the feature the form describes (a job when the repository has a remote), turning
    every refusal into a form error."""
    data = form.cleaned_data
    instance: Instance = data["instance"]
    fields = {"key": data["key"], "title": data["title"], "branch": data["attach_branch"]}
    if instance.repository.remote_url:
        job = queue_start(instance, owner=request.user, **fields)
        return redirect_after_post(request, job.get_absolute_url())
    try:
        feature = start_from_instance(instance, owner=request.user, **fields)
    except FeatureError as exc:
        form.add_error(None, exc.messages)
        return None
    except (RemoteError, RepositoryDamaged) as exc:
        form.add_error(None, f"Could not reach the git remote: {exc}")
        return None
    messages.success(request, f"Feature {feature.key} started on branch “{feature.branch}”.")
    return redirect_after_post(request, feature.get_absolute_url())


def start_from_form(request: AuthedRequest, form: FeatureStartForm) -> Feature | None:
    """Start the feature the form describes within the call, turning every refusal into a form
    error: the API (`instances.api.features`) starts features here."""
    data = form.cleaned_data
    fields = {"key": data["key"], "title": data["title"], "branch": data["attach_branch"]}
    try:
        return start_from_instance(data["instance"], owner=request.user, **fields)
    except FeatureError as exc:
        form.add_error(None, exc.messages)
    except (RemoteError, RepositoryDamaged) as exc:
        form.add_error(None, f"Could not reach the git remote: {exc}")
    return None


@require_http_methods(["GET", "POST"])
def feature_create(request: AuthedRequest) -> HttpResponse:
    require_feature_perm(request, "add")
    initial = {}
    if (instance_id := parse_id(request.GET.get("instance", ""))) is not None:
        initial["instance"] = visible_instances(request.user).filter(pk=instance_id).first()
    form = FeatureStartForm(request.POST or None, initial=initial)
    form.fields["instance"].queryset = visible_instances(  # type: ignore[attr-defined]
        request.user, Instance.objects.select_related("repository")
    ).order_by("repository__name", "name")
    if request.method == "POST" and form.is_valid() and (response := _start(request, form)):
        return response
    template = "instances/promotions/feature_form.html"
    if request.htmx:
        template += "#form"
    return render(request, template, {"form": form})


def checkout_command(feature: Feature) -> str:
    """A shell line that gets a developer onto the feature branch (every part quoted)."""
    folder = slugify(feature.repository.name) or "repository"
    url, branch = workspace.clone_url(feature.repository), feature.branch
    return (
        f"git clone {shlex.quote(url)} {shlex.quote(folder)} && cd {shlex.quote(folder)} "
        f"&& git checkout {shlex.quote(branch)}"
    )


def feature_detail(request: AuthedRequest, key: str) -> HttpResponse:
    feature = get_feature_for(request, key)
    heads = read_branch_heads(feature.repository, [feature.branch])
    head = (heads[feature.branch] or None) if heads is not None else None
    promotions = (
        visible_promotions(request.user, Promotion.objects.filter(items__feature=feature))
        .select_related("target", "source", "requested_by")
        .order_by("-id")[:50]
    )
    targets = [(i, route_label(i, r)) for i, r in targets_offered(feature, request.user)]
    rows = presence_rows(feature, head, request.user)
    conceal_hidden(request, [feature], "started_from")
    return render(
        request,
        "instances/promotions/feature_detail.html",
        {
            "feature": feature,
            "clone_url": workspace.clone_url(feature.repository),
            "server_path": workspace.server_path(feature.repository)
            if request.user.is_superuser and not feature.repository.remote_url
            else "",
            "checkout": checkout_command(feature),
            "head": head,
            "heads_known": heads is not None,
            "rows": rows,
            "promotions": promotions,
            "targets": targets,
            "events": AuditEvent.for_object(feature)[:20],
        },
    )
