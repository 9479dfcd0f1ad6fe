"""The one rule every view follows: 404 for those who may not see, 403 for those who may not act."""

from typing import Literal, TypeVar

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest

from releasemgr.models import AccessToken, Job
from releasemgr.roles import is_release_manager

M = TypeVar("M", bound=Model)
Need = Literal["view", "add", "change", "delete"]


def require_perm(request: HttpRequest, model: type[Model], need: Need) -> None:
    """Raise 404 when the user may not see `model`'s objects, 403 when they may not `need` them."""
    opts = model._meta
    user = request.user
    if not user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
        raise Http404(f"No {opts.verbose_name} found.")
    if need != "view" and not user.has_perm(f"{opts.app_label}.{need}_{opts.model_name}"):
        raise PermissionDenied(f"You may not {need} {opts.verbose_name_plural}.")


def get_object_for(request: HttpRequest, queryset: QuerySet[M], pk: int, need: Need) -> M:
    require_perm(request, queryset.model, need)
    try:
        return queryset.get(pk=pk)
    except ObjectDoesNotExist:
        raise Http404(f"No {queryset.model._meta.verbose_name} with id {pk}.") from None


def get_own_token_for(request: HttpRequest, pk: int) -> AccessToken:
    """A personal access token of the signed-in user; anyone else's is a 404, like a missing one."""
    token = AccessToken.objects.filter(pk=pk, user__pk=request.user.pk or 0).first()
    if token is None:
        raise Http404(f"You have no access token with id {pk}.")
    return token


def get_job_for(request: HttpRequest, pk: int) -> Job:
    """A job its requester or a release manager may follow; to anyone else, a 404."""
    job = Job.objects.select_related("requested_by").filter(pk=pk).first()
    user = request.user
    if job is None or not (job.requested_by_id == user.pk or is_release_manager(user)):
        raise Http404(f"No job with id {pk}.")
    return job
