"""Collection pages: list, detail, create, edit. A collection is a release: features that are
promoted together."""

from django.contrib import messages
from django.db import transaction
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from branching.access import get_collection_for, require_collection_perm
from branching.forms import CollectionForm
from branching.models import Collection
from releasemgr.http import AuthedRequest, redirect_after_post
from releasemgr.models import AuditEvent


def collection_list(request: AuthedRequest) -> HttpResponse:
    require_collection_perm(request, "view")
    collections = Collection.objects.annotate(feature_count=Count("features")).order_by("name")
    return render(request, "branching/collection_list.html", {"collections": collections})


def collection_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    collection = get_collection_for(request, pk)
    features = collection.features.select_related("repository", "owner").order_by("key")
    return render(
        request,
        "branching/collection_detail.html",
        {
            "collection": collection,
            "features": features,
            "events": AuditEvent.for_object(collection)[:20],
        },
    )


def _edit(request: AuthedRequest, collection: Collection | None, title: str) -> HttpResponse:
    form = CollectionForm(request.POST or None, instance=collection)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            saved = form.save(commit=False)
            if collection is None:
                saved.created_by = request.user
            saved.save()
            form.save_m2m()
            AuditEvent.record(
                request.user,
                "changed" if collection else "created",
                saved,
                {"features": ", ".join(f.key for f in form.cleaned_data["features"])},
            )
        messages.success(request, f"Collection “{saved}” saved.")
        return redirect_after_post(request, saved.get_absolute_url())
    template = "branching/collection_form.html"
    if request.htmx:
        template += "#form"
    return render(request, template, {"form": form, "collection": collection, "title": title})


@require_http_methods(["GET", "POST"])
def collection_create(request: AuthedRequest) -> HttpResponse:
    require_collection_perm(request, "add")
    return _edit(request, None, "New collection")


@require_http_methods(["GET", "POST"])
def collection_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    collection = get_collection_for(request, pk, need="change")
    return _edit(request, collection, f"Edit {collection.name}")
