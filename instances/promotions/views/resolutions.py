"""Recorded conflict resolutions of a repository: list, inspect (the preimage and the
resolution), forget. Release managers only; a resolution made in a promotion into an instance
hidden from someone (per-instance grants) is hidden from them too."""

from __future__ import annotations

import difflib

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from branching.access import get_repository_for
from branching.models import Repository
from instances.models import RecordedResolution
from instances.promotions.conflicts import shown_text
from instances.promotions.recorded import forget, visible_resolutions
from releasemgr.access import Need, require_perm
from releasemgr.http import AuthedRequest, redirect_after_post


def resolutions_repository_for(request: HttpRequest, pk: int, need: Need = "view") -> Repository:
    """Release managers (who may change repositories) and the model permission `need`."""
    repository = get_repository_for(request, pk, need="change")
    require_perm(request, RecordedResolution, need)
    return repository


def get_resolution_for(
    request: HttpRequest, pk: int, resolution_id: int, need: Need = "view"
) -> RecordedResolution:
    repository = resolutions_repository_for(request, pk, need)
    resolution = visible_resolutions(request.user, repository).filter(pk=resolution_id).first()
    if resolution is None:
        raise Http404(f"No recorded resolution with id {resolution_id} in {repository}.")
    return resolution


def resolution_list(request: AuthedRequest, pk: int) -> HttpResponse:
    repository = resolutions_repository_for(request, pk)
    resolutions = visible_resolutions(request.user, repository).order_by("path", "id")
    return render(
        request,
        "instances/promotions/resolution_list.html",
        {"repository": repository, "resolutions": resolutions},
    )


def resolution_detail(request: AuthedRequest, pk: int, resolution_id: int) -> HttpResponse:
    resolution = get_resolution_for(request, pk, resolution_id)
    preimage, preimage_note = shown_text(bytes(resolution.preimage))
    postimage, postimage_note = shown_text(bytes(resolution.postimage))
    diff = "".join(
        difflib.unified_diff(
            preimage.splitlines(keepends=True),
            postimage.splitlines(keepends=True),
            fromfile="conflicted (normalised)",
            tofile="resolved",
        )
    )
    return render(
        request,
        "instances/promotions/resolution_detail.html",
        {
            "repository": resolution.repository,
            "resolution": resolution,
            "preimage": preimage,
            "preimage_note": preimage_note,
            "postimage": postimage,
            "postimage_note": postimage_note,
            "diff": diff,
        },
    )


@require_POST
def resolution_forget(request: AuthedRequest, pk: int, resolution_id: int) -> HttpResponse:
    resolution = get_resolution_for(request, pk, resolution_id, need="delete")
    forget(resolution, request.user)
    messages.success(
        request,
        f"Forgot the resolution of {resolution.path}: the next time that conflict comes back, "
        "it conflicts again.",
    )
    return redirect_after_post(request, reverse("recorded_resolution_list", args=[pk]))
