"""Recorded conflict resolutions of a repository: list, get (the preimage and the
resolution), delete (forget). The pages' access rules: release managers, and only resolutions
made in promotions into instances the caller may see."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from instances.api.auth import acting, need
from instances.api.common import Page, Paging, UserRef, absolute, paginate, user_ref
from instances.models import RecordedResolution
from instances.promotions.conflicts import shown_text
from instances.promotions.recorded import forget, visible_resolutions
from instances.promotions.views.resolutions import (
    get_resolution_for,
    resolutions_repository_for,
)
from releasemgr.models import Scope

router = Router(tags=["recorded resolutions"])


class ResolutionOut(Schema):
    id: int
    repository_id: int
    path: str
    conflict_id: str = Field(description="git rerere's: the SHA-1 over the normalised hunks.")
    made_by: UserRef | None
    promotion_id: int | None = Field(description="The promotion it was made in.")
    made_at: datetime
    last_used_at: datetime | None
    times_used: int
    url: str


class ResolutionDetail(ResolutionOut):
    preimage: str = Field(description="The conflicted file, each hunk normalised.")
    preimage_note: str = Field(description="Why `preimage` is shown cut or decoded, if it is.")
    postimage: str = Field(description="The file as resolved.")
    postimage_note: str


def resolution_out(request: HttpRequest, resolution: RecordedResolution) -> dict[str, Any]:
    return {
        "id": resolution.pk,
        "repository_id": resolution.repository_id,
        "path": resolution.path,
        "conflict_id": resolution.conflict_id,
        "made_by": user_ref(resolution.made_by),
        "promotion_id": resolution.promotion_id,
        "made_at": resolution.made_at,
        "last_used_at": resolution.last_used_at,
        "times_used": resolution.times_used,
        "url": absolute(request, resolution.get_absolute_url()),
    }


@router.get(
    "/repositories/{pk}/resolutions",
    response=Page[ResolutionOut],
    summary="The recorded conflict resolutions of a repository",
)
def list_resolutions(request: HttpRequest, pk: int, paging: Query[Paging]) -> dict[str, Any]:
    repository = resolutions_repository_for(request, pk)
    return paginate(
        request,
        visible_resolutions(acting(request), repository).order_by("path", "id"),
        paging,
        lambda rows: (resolution_out(request, r) for r in rows),
    )


@router.get(
    "/repositories/{pk}/resolutions/{resolution_id}",
    response=ResolutionDetail,
    summary="One recorded resolution, with its preimage and resolution",
)
def get_resolution(request: HttpRequest, pk: int, resolution_id: int) -> dict[str, Any]:
    resolution = get_resolution_for(request, pk, resolution_id)
    preimage, preimage_note = shown_text(bytes(resolution.preimage))
    postimage, postimage_note = shown_text(bytes(resolution.postimage))
    return {
        **resolution_out(request, resolution),
        "preimage": preimage,
        "preimage_note": preimage_note,
        "postimage": postimage,
        "postimage_note": postimage_note,
    }


@router.delete(
    "/repositories/{pk}/resolutions/{resolution_id}",
    response=ResolutionOut,
    summary="Forget a recorded resolution (its conflict conflicts again next time); answers "
    "what was forgotten",
)
def delete_resolution(request: HttpRequest, pk: int, resolution_id: int) -> dict[str, Any]:
    need(request, Scope.MANAGE)
    resolution = get_resolution_for(request, pk, resolution_id, need="delete")
    out = resolution_out(request, resolution)
    forget(resolution, acting(request))
    return out
