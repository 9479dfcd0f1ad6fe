"""Repositories and the hierarchy of instances on their git storage."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema

from branching import workspace
from branching.access import get_repository_for, require_repository_perm
from branching.models import Repository
from instances.api.common import InstanceRef, Page, Paging, absolute, instance_ref, paginate
from instances.environments.access import conceal_hidden, require_instance_perm
from instances.environments.diagram import tree_rows
from instances.environments.permissions import visible_instances
from instances.models import Instance

router = Router(tags=["repositories"])


class RepositoryOut(Schema):
    id: int
    name: str
    description: str
    main_branch: str
    is_long_term: bool
    source_format: str
    package_directories: list[Any]
    clone_url: str
    url: str


class HierarchyRow(Schema):
    instance: InstanceRef
    depth: int
    purpose: str
    branch: str
    parent: InstanceRef | None
    repository_id: int


class HierarchyOut(Schema):
    repository: RepositoryOut
    instances: list[HierarchyRow]


def repository_out(request: HttpRequest, repository: Repository) -> dict[str, Any]:
    return {
        "id": repository.pk,
        "name": repository.name,
        "description": repository.description,
        "main_branch": repository.main_branch,
        "is_long_term": repository.is_long_term,
        "source_format": repository.source_format,
        "package_directories": list(repository.package_directories or []),
        "clone_url": workspace.clone_url(repository),
        "url": absolute(request, repository.get_absolute_url()),
    }


@router.get("/repositories", response=Page[RepositoryOut], summary="List repositories")
def list_repositories(request: HttpRequest, paging: Query[Paging]) -> dict[str, Any]:
    require_repository_perm(request, "view")
    return paginate(
        request,
        Repository.objects.order_by("name"),
        paging,
        lambda rows: (repository_out(request, r) for r in rows),
    )


@router.get("/repositories/{pk}", response=RepositoryOut, summary="One repository")
def get_repository(request: HttpRequest, pk: int) -> dict[str, Any]:
    return repository_out(request, get_repository_for(request, pk))


@router.get(
    "/repositories/{pk}/hierarchy",
    response=HierarchyOut,
    summary="The hierarchy of instances on the repository's git storage, roots first",
)
def get_hierarchy(request: HttpRequest, pk: int) -> dict[str, Any]:
    repository = get_repository_for(request, pk)
    require_instance_perm(request, "view")
    instances = list(
        visible_instances(
            request.user,
            Instance.objects.filter(storage_key=repository.storage_key).select_related("parent"),
        )
    )
    conceal_hidden(request, instances)
    return {
        "repository": repository_out(request, repository),
        "instances": [
            {
                "instance": instance_ref(row.instance),
                "depth": row.depth,
                "purpose": row.instance.purpose,
                "branch": row.instance.branch,
                "parent": instance_ref(row.instance.parent),
                "repository_id": row.instance.repository_id,
            }
            for row in tree_rows(instances)
        ],
    }
