"""Requesting a promotion: features (or a collection) and a target, a dry run, then the request.

The page is opened from a feature (`?feature=RM-42`), a collection (`?collection=3`) or an
instance (`?target=7`); the one-click buttons of the feature and instance pages post to it too.
A dry run merges in memory first, so a conflict is known before anything is queued. It is a
job (`instances.promotions.requests`), never work inside the request: the form's POST queues
it and comes back to this page with `?job=<id>`, which shows it live (htmx polls its status;
without JavaScript, a link checks again) and then the promotion, or the conflicts with the
form to queue it anyway. Queueing anyway without a dry run is done at once, unless the
repository has a remote: its fetch is a job too.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from branching.models import Collection, Feature, features_by_key
from instances.environments.permissions import instances_allowing, visible_instances
from instances.models import Capability, Instance, PromotionStatus
from instances.promotions.access import require_promotion_perm
from instances.promotions.errors import PromotionError
from instances.promotions.forms import PromotionRequestForm, PromotionScopeForm
from instances.promotions.requests import get_request_job_for, job_form_data, queue_request
from instances.promotions.routing import Route, candidates_for, common_targets, route_to
from instances.promotions.rules import request_promotion
from releasemgr.http import AuthedRequest, redirect_after_post
from releasemgr.ids import parse_id
from releasemgr.models import Job

TEMPLATE = "instances/promotions/promotion_form.html"
# Candidate features shown at once when the page is opened for a target: the page costs what
# it shows, however many features could come in (search narrows, pages go further).
CANDIDATES_PER_PAGE = 50


@dataclass
class Scope:
    """What the page was opened for: the features and targets it offers."""

    features: list[Feature]
    checked: list[Feature]
    targets: list[tuple[Instance, Route | None]]
    collection: Collection | None = None
    target: Instance | None = None
    problems: list[str] = field(default_factory=list)
    # Opened for a target alone: one page of its candidates, searched by key or title.
    page: Page | None = None
    search: str = ""


def _pk(value: str, strict: bool) -> int | None:
    if (pk := parse_id(value)) is not None:
        return pk
    if value and strict:
        raise Http404(f"No object with id {value}.")
    return None


def _features(keys: Sequence[str], strict: bool) -> list[Feature]:
    found = {f.key: f for f in features_by_key(keys).select_related("repository")}
    if strict and (missing := [k for k in keys if k not in found]):
        raise Http404(f"No feature {', '.join(missing)}.")
    return [found[k] for k in dict.fromkeys(keys) if k in found]


def scope_for(query: QueryDict, user: Any, strict: bool = True) -> Scope | None:
    """The scope named in the query string, or None for none.

    Strict (a link someone followed): anything unknown is a 404. Lenient (a posted form with no
    query string): unknown things are left out, and the form's own validation names them.
    """
    features = _features([k.strip() for k in query.getlist("feature") if k.strip()], strict)
    collection = target = None
    if (collection_id := _pk(query.get("collection", "") or "", strict)) is not None:
        collection = Collection.objects.filter(pk=collection_id).first()
        if collection is None and strict:
            raise Http404(f"No collection with id {collection_id}.")
    if collection is not None:
        more = collection.features.select_related("repository").order_by("key")
        features += [f for f in more if f not in features]
    allowed = instances_allowing(user, Capability.PROMOTE)
    if (target_id := _pk(query.get("target", "") or "", strict)) is not None:
        target = (
            visible_instances(user).select_related("repository", "parent").filter(pk=target_id)
        ).first()
        if target is not None and not allowed.filter(pk=target.pk).exists():
            raise PermissionDenied(f"You may not request promotions into {target.name}.")
        if target is None and strict:
            raise Http404(f"No instance with id {target_id}.")
    if not features:
        if target is None:
            return None
        search = (query.get("q") or "").strip()[:100]
        candidates = candidates_for(target)
        if search:
            candidates = candidates.filter(Q(key__icontains=search) | Q(title__icontains=search))
        page = Paginator(candidates, CANDIDATES_PER_PAGE).get_page(query.get("page"))
        return Scope(
            list(page.object_list), [], [(target, None)], target=target, page=page, search=search
        )
    allowed_ids = set(allowed.values_list("pk", flat=True))
    offered: list[tuple[Instance, Route | None]] = [
        (i, r) for i, r in common_targets(features) if i.pk in allowed_ids
    ]
    scope = Scope(features, features, offered, collection, target)
    if target is not None and all(i.pk != target.pk for i, _ in scope.targets):
        try:
            scope.targets.append((target, route_to(features, target)))
        except PromotionError as exc:
            scope.problems += exc.messages
            scope.target = None
    if not scope.targets:
        scope.problems.append("There is no instance these features can all go to next.")
    return scope


def _posted_scope(data: QueryDict, user: Any) -> Scope:
    """The scope of a form posted without a query string: what it names, or nothing."""
    query = QueryDict(mutable=True)
    query.setlist("feature", data.getlist("features"))
    for name in ("target", "collection"):
        query[name] = data.get(name, "")
    return scope_for(query, user, strict=False) or Scope([], [], [])


def following(job: Job) -> str:
    """This page for the job's features and target, following the job."""
    params = job.params
    query: list[tuple[str, object]] = [("feature", key) for key in params["features"]]
    query.append(("target", params["target"]))
    if params.get("collection"):
        query.append(("collection", params["collection"]))
    query.append(("job", job.pk))
    return reverse("promotion_create") + "?" + urlencode(query)


def _submit(request: AuthedRequest, form: PromotionRequestForm) -> HttpResponse | None:
    """Queue the dry run (and the request) as a job; or, asked to queue anyway with no remote to
    fetch from, request at once. None (with errors on the form) when it must be shown again."""
    data = form.cleaned_data
    features, target = data["features"], data["target"]
    request_fields = {
        "features": features,
        "target": target,
        "user": request.user,
        "collection": data["collection"],
        "test_level": data.get("test_level") or "",
        "run_tests": data.get("run_tests") or [],
    }
    if not data["queue_anyway"] or target.repository.remote_url:
        job = queue_request(**request_fields, queue_anyway=data["queue_anyway"])
        return redirect_after_post(request, following(job))
    try:
        promotion = request_promotion(**request_fields)
    except PromotionError as exc:
        form.add_error(None, exc.messages)
        return None
    waits = promotion.status == PromotionStatus.AWAITING_APPROVAL
    messages.success(
        request,
        f"Promotion #{promotion.pk} requested; "
        + ("it waits for approval." if waits else "it is queued."),
    )
    return redirect_after_post(request, promotion.get_absolute_url())


def _job_status(request: AuthedRequest, job: Job) -> HttpResponse:
    """What htmx polls: the job's status while it runs; once it has ended, the promotion it
    requested, or this page again to show the conflicts or the refusal with the form."""
    if not job.is_terminal:
        return render(request, TEMPLATE + "#dry-run", {"job": job})
    if job.result_url:
        messages.success(request, job.message)
        return HttpResponseClientRedirect(job.result_url)
    return HttpResponseClientRefresh()


@require_http_methods(["GET", "POST"])
def promotion_create(request: AuthedRequest) -> HttpResponse:
    require_promotion_perm(request, "add")
    job = get_request_job_for(request, request.GET["job"]) if "job" in request.GET else None
    if job is not None and request.htmx and request.htmx.target == "dry-run-status":
        return _job_status(request, job)
    scope = scope_for(request.GET, request.user)
    if scope is None and request.method == "POST":
        scope = _posted_scope(request.POST, request.user)
    if scope is None:
        return render(request, TEMPLATE, {"scope_form": PromotionScopeForm()})
    only_target = scope.targets[0][0] if len(scope.targets) == 1 else None
    initial: dict[str, Any] = {
        "features": scope.checked,
        "target": scope.target or only_target,
        "collection": scope.collection,
    }
    data: QueryDict | None = request.POST or None
    conflicts = job.result.get("conflicts") if job is not None and job.is_terminal else None
    if job is not None:
        initial.update(job_form_data(job))
        if conflicts and data is None:
            # The dry run's answer, as the form showed it when the dry run ran inside it.
            data = QueryDict(mutable=True)
            for name, value in job_form_data(job).items():
                data.setlist(name, value if isinstance(value, list) else [str(value)])
    form = PromotionRequestForm(
        data,
        initial=initial,
        offered_features=scope.features,
        offered_targets=scope.targets,
        allowed_targets=instances_allowing(
            request.user,
            Capability.PROMOTE,
            Instance.objects.select_related("repository", "parent"),
        ),
    )
    if request.method == "POST" and form.is_valid() and (done := _submit(request, form)):
        return done
    if request.method == "GET" and conflicts and form.is_valid():
        form.report_conflicts(conflicts)
    template = TEMPLATE + "#form" if request.htmx else TEMPLATE
    return render(
        request,
        template,
        {"form": form, "scope": scope, "job": job},
    )
