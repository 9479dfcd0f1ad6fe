"""Repository pages: list, detail, create, edit."""

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from branching.access import get_repository_for, require_repository_perm
from branching.forms import RepositoryForm
from branching.models import Repository
from releasemgr.http import AuthedRequest, redirect_after_post
from releasemgr.models import AuditEvent


def repository_list(request: AuthedRequest) -> HttpResponse:
    require_repository_perm(request, "view")
    repositories = Repository.objects.order_by("is_long_term", "name")
    return render(request, "branching/repository_list.html", {"repositories": repositories})


def repository_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    repository = get_repository_for(request, pk)
    shares_storage = Repository.objects.filter(storage_key=repository.storage_key).exclude(
        pk=repository.pk
    )
    return render(
        request,
        "branching/repository_detail.html",
        {
            "repository": repository,
            "shares_storage": shares_storage,
            "events": AuditEvent.for_object(repository)[:20],
        },
    )


def _edit(request: AuthedRequest, repository: Repository | None, title: str) -> HttpResponse:
    form = RepositoryForm(request.POST or None, instance=repository)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                saved = form.save()
                AuditEvent.record(
                    request.user,
                    "changed" if repository else "created",
                    saved,
                    {
                        name: str(form.cleaned_data.get(name))
                        for name in form.changed_data
                        if name not in form.secret_fields
                    },
                )
        except IntegrityError:
            form.add_error(
                None,
                "Another repository's instances already use some of these branches in that "
                "storage; two instances never share a branch.",
            )
        else:
            messages.success(request, f"Repository “{saved}” saved.")
            return redirect_after_post(request, saved.get_absolute_url())
    template = "branching/repository_form.html"
    if request.htmx:
        template += "#form"
    return render(request, template, {"form": form, "repository": repository, "title": title})


@require_http_methods(["GET", "POST"])
def repository_create(request: AuthedRequest) -> HttpResponse:
    require_repository_perm(request, "add")
    return _edit(request, None, "New repository")


@require_http_methods(["GET", "POST"])
def repository_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    repository = get_repository_for(request, pk, need="change")
    return _edit(request, repository, f"Edit {repository.name}")
