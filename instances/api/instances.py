"""Instances: the list (filtered as on the instances page), one instance with its place in the
hierarchy, its org connection's facts (never a secret) and the features it holds."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from ninja import Query, Router, Schema

from instances.api.common import (
    InstanceRef,
    Page,
    Paging,
    RepositoryRef,
    absolute,
    instance_ref,
    paginate,
    repository_ref,
)
from instances.environments.access import (
    conceal_hidden,
    get_instance_for,
    require_instance_perm,
)
from instances.environments.permissions import visible_instances
from instances.environments.presence import instance_features, read_branch_heads
from instances.models import Instance, Purpose
from releasemgr.ids import Id

router = Router(tags=["instances"])


class InstanceFilters(Schema):
    repository: Id | None = None
    purpose: Purpose | None = None
    name: str | None = None
    q: str | None = None


class InstanceOut(Schema):
    id: int
    name: str
    purpose: str
    org_type: str
    repository: RepositoryRef
    branch: str
    parent: InstanceRef | None
    test_level: str
    validate_first: bool
    requires_approval: bool
    url: str


class OrgConnectionOut(Schema):
    id: int
    auth_method: str
    login_url: str
    instance_url: str
    username: str
    org_id: str
    detected_org_type: str
    expires_on: date | None
    last_checked_at: datetime | None
    last_check_error: str


class InstanceDetail(InstanceOut):
    description: str
    branch_head: str | None
    ancestors: list[InstanceRef]
    children: list[InstanceRef]
    org_connection: OrgConnectionOut | None
    features_here: list[str]
    features_here_count: int
    ready_to_promote: list[str]
    pending_back_promotion: list[str]
    not_entered: list[str]


def instance_out(request: HttpRequest, instance: Instance) -> dict[str, Any]:
    return {
        "id": instance.pk,
        "name": instance.name,
        "purpose": instance.purpose,
        "org_type": instance.org_type,
        "repository": repository_ref(instance.repository),
        "branch": instance.branch,
        "parent": instance_ref(instance.parent),
        "test_level": instance.test_level,
        "validate_first": instance.validate_first,
        "requires_approval": instance.requires_approval,
        "url": absolute(request, instance.get_absolute_url()),
    }


@router.get("/instances", response=Page[InstanceOut], summary="List instances")
def list_instances(
    request: HttpRequest, paging: Query[Paging], filters: Query[InstanceFilters]
) -> dict[str, Any]:
    require_instance_perm(request, "view")
    instances = visible_instances(
        request.user, Instance.objects.select_related("repository", "parent")
    ).order_by("repository__name", "name")
    if filters.repository is not None:
        instances = instances.filter(repository_id=filters.repository)
    if filters.purpose:
        instances = instances.filter(purpose=filters.purpose)
    if filters.name:
        instances = instances.filter(name=filters.name)
    if filters.q:
        instances = instances.filter(Q(name__icontains=filters.q) | Q(branch__icontains=filters.q))

    def rows(shown: list[Instance]) -> list[dict[str, Any]]:
        conceal_hidden(request, shown)  # a hidden parent reads as none, as on the page
        return [instance_out(request, i) for i in shown]

    return paginate(request, instances, paging, rows)


@router.get("/instances/{pk}", response=InstanceDetail, summary="One instance")
def get_instance(request: HttpRequest, pk: int) -> dict[str, Any]:
    instance = get_instance_for(request, pk)
    conceal_hidden(request, [instance])
    visible = set(visible_instances(request.user).values_list("pk", flat=True))
    connection = instance.org_connection
    features = instance_features(instance)
    heads = read_branch_heads(instance.repository, [instance.branch])
    return {
        **instance_out(request, instance),
        "description": instance.description,
        "branch_head": heads.get(instance.branch) if heads is not None else None,
        "ancestors": [instance_ref(i) for i in instance.ancestors() if i.pk in visible],
        "children": [
            instance_ref(i) for i in instance.children.filter(pk__in=visible).order_by("name")
        ],
        "org_connection": None
        if connection is None
        else {
            "id": connection.pk,
            "auth_method": connection.auth_method,
            "login_url": connection.login_url,
            "instance_url": connection.instance_url,
            "username": connection.username,
            "org_id": connection.org_id,
            "detected_org_type": connection.detected_org_type,
            "expires_on": connection.expires_on,
            "last_checked_at": connection.last_checked_at,
            "last_check_error": connection.last_check_error,
        },
        "features_here": [p.feature.key for p in features.here],
        "features_here_count": features.here_count,
        "ready_to_promote": [m.feature.key for m in features.ready_up],
        "pending_back_promotion": [m.feature.key for m in features.pending_back],
        "not_entered": [m.feature.key for m in features.not_entered],
    }
