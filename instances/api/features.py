"""Features: the list, one feature with its presence per instance and where it can go next,
and starting (or attaching) a feature, with the form and the function of the page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Prefetch, Q
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from branching import workspace
from branching.access import get_feature_for, require_feature_perm
from branching.models import Feature
from instances.api.auth import acting, need
from instances.api.common import (
    InstanceRef,
    Page,
    Paging,
    RepositoryRef,
    UserRef,
    absolute,
    form_data,
    instance_ref,
    paginate,
    repository_ref,
    user_ref,
)
from instances.api.jobs import JobOut, accepted
from instances.api.problems import Problem, form_problem
from instances.environments.access import conceal_hidden
from instances.environments.permissions import visible_instances
from instances.environments.presence import presence_rows, read_branch_heads
from instances.models import FeaturePresence, Instance
from instances.promotions.feature_forms import FeatureStartForm
from instances.promotions.features import queue_start
from instances.promotions.routing import targets_offered
from instances.promotions.views.features import start_from_form
from releasemgr.ids import Id
from releasemgr.models import Scope

router = Router(tags=["features"])


class FeatureFilters(Schema):
    repository: Id | None = None
    instance: Id | None = None
    owner: str | None = None
    q: str | None = None


class FeatureOut(Schema):
    key: str
    title: str
    repository: RepositoryRef
    owner: UserRef
    branch: str
    base_commit: str
    started_from: InstanceRef | None
    present_in: list[InstanceRef]
    created_at: datetime
    url: str


class PresenceOut(Schema):
    instance: InstanceRef
    depth: int
    state: str
    commit: str
    promotion_id: int | None
    rolled_back_by: int | None = Field(
        None, description="Absent because this rollback promotion took it out."
    )


class TargetOut(Schema):
    instance: InstanceRef
    direction: str
    source: InstanceRef | None


class FeatureDetail(FeatureOut):
    clone_url: str
    head: str | None
    presence: list[PresenceOut]
    next_targets: list[TargetOut]


class FeatureStart(Schema):
    instance: int
    key: str
    title: str
    attach_branch: str = ""


def feature_out(request: HttpRequest, feature: Feature) -> dict[str, Any]:
    return {
        "key": feature.key,
        "title": feature.title,
        "repository": repository_ref(feature.repository),
        "owner": user_ref(feature.owner),
        "branch": feature.branch,
        "base_commit": feature.base_commit,
        "started_from": instance_ref(feature.started_from),
        "present_in": [instance_ref(p.instance) for p in feature.presences.all()],
        "created_at": feature.created_at,
        "url": absolute(request, feature.get_absolute_url()),
    }


def feature_detail(request: HttpRequest, feature: Feature) -> dict[str, Any]:
    heads = read_branch_heads(feature.repository, [feature.branch])
    head = (heads[feature.branch] or None) if heads is not None else None
    targets = [
        {
            "instance": instance_ref(instance),
            "direction": route.direction,
            "source": instance_ref(route.source),
        }
        for instance, route in targets_offered(feature, acting(request))
    ]
    presence = [
        {
            "instance": instance_ref(row.instance),
            "depth": row.depth,
            "state": str(row.state),
            "commit": row.commit,
            "promotion_id": row.promotion_id,
            "rolled_back_by": row.rolled_back_by,
        }
        for row in presence_rows(feature, head, request.user)
    ]
    conceal_hidden(request, [feature], "started_from")
    return {
        **feature_out(request, feature),
        "clone_url": workspace.clone_url(feature.repository),
        "head": head,
        "presence": presence,
        "next_targets": targets,
    }


def _features(request: HttpRequest) -> Any:
    """Features with their presences in the instances the caller may see (no others)."""
    visible = visible_instances(request.user)
    return Feature.objects.select_related("repository", "owner", "started_from").prefetch_related(
        Prefetch(
            "presences",
            queryset=FeaturePresence.objects.filter(instance__in=visible).select_related(
                "instance"
            ),
        )
    )


@router.get("/features", response=Page[FeatureOut], summary="List features")
def list_features(
    request: HttpRequest, paging: Query[Paging], filters: Query[FeatureFilters]
) -> dict[str, Any]:
    require_feature_perm(request, "view")
    features = _features(request).order_by("-created_at", "-id")
    if filters.repository is not None:
        features = features.filter(repository_id=filters.repository)
    if filters.owner == "mine":
        features = features.filter(owner=request.user)
    elif filters.owner:
        features = features.filter(owner__username=filters.owner)
    if filters.instance is not None:
        features = features.filter(
            presences__instance__in=visible_instances(request.user).filter(pk=filters.instance)
        )
    if filters.q:
        features = features.filter(Q(key__icontains=filters.q) | Q(title__icontains=filters.q))
    return paginate(
        request,
        features,
        paging,
        lambda rows: [
            feature_out(request, f) for f in conceal_hidden(request, rows, "started_from")
        ],
    )


@router.get("/features/{key}", response=FeatureDetail, summary="One feature, where it is")
def get_feature(request: HttpRequest, key: str) -> dict[str, Any]:
    get_feature_for(request, key)
    return feature_detail(request, _features(request).get(key=key))


@router.post(
    "/features",
    response={201: FeatureDetail, 202: JobOut},
    summary="Start a feature from an instance (or attach an existing branch)",
    description="When the repository has a remote, the branch is cut there (a fetch and a "
    "push), which a worker does: the answer is 202 with the job; poll `GET /jobs/{id}` until "
    "`terminal`; its `result.feature` is the key. Without a remote, 201 with the feature.",
)
def start_feature(request: HttpRequest, body: FeatureStart) -> Status:
    need(request, Scope.PROMOTE)
    require_feature_perm(request, "add")
    form = FeatureStartForm(form_data(body.dict()))
    form.fields["instance"].queryset = visible_instances(  # type: ignore[attr-defined]
        request.user, Instance.objects.select_related("repository")
    )
    if not form.is_valid():
        raise form_problem(form)
    data = form.cleaned_data
    if data["instance"].repository.remote_url:  # the remote's work is a worker's
        fields = {"key": data["key"], "title": data["title"], "branch": data["attach_branch"]}
        return accepted(request, queue_start(data["instance"], owner=acting(request), **fields))
    feature = start_from_form(request, form)  # type: ignore[arg-type]
    if feature is None:
        raise Problem(409, " ".join(str(e) for e in form.non_field_errors()) or "Not started.")
    return Status(201, feature_detail(request, _features(request).get(pk=feature.pk)))
