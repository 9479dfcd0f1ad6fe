"""Collections: features promoted together (a release)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Prefetch
from django.http import HttpRequest
from ninja import Query, Router, Schema

from branching.access import get_collection_for, require_collection_perm
from branching.models import Collection, Feature
from instances.api.common import Page, Paging, UserRef, absolute, paginate, user_ref

router = Router(tags=["collections"])


class CollectionOut(Schema):
    id: int
    name: str
    description: str
    features: list[str]
    created_by: UserRef | None
    created_at: datetime
    url: str


def collection_out(request: HttpRequest, collection: Collection) -> dict[str, Any]:
    return {
        "id": collection.pk,
        "name": collection.name,
        "description": collection.description,
        "features": [f.key for f in collection.features.all()],
        "created_by": user_ref(collection.created_by),
        "created_at": collection.created_at,
        "url": absolute(request, collection.get_absolute_url()),
    }


def _collections() -> Any:
    return Collection.objects.select_related("created_by").prefetch_related(
        Prefetch("features", queryset=Feature.objects.order_by("key"))
    )


@router.get("/collections", response=Page[CollectionOut], summary="List collections")
def list_collections(request: HttpRequest, paging: Query[Paging]) -> dict[str, Any]:
    require_collection_perm(request, "view")
    return paginate(
        request,
        _collections().order_by("name"),
        paging,
        lambda rows: (collection_out(request, c) for c in rows),
    )


@router.get("/collections/{pk}", response=CollectionOut, summary="One collection")
def get_collection(request: HttpRequest, pk: int) -> dict[str, Any]:
    get_collection_for(request, pk)  # 404 / 403 as on the page
    return collection_out(request, _collections().get(pk=pk))
