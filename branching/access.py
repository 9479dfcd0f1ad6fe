"""Access to repositories, features and collections, called on the first line of every view."""

from django.http import Http404, HttpRequest

from branching.models import Collection, Feature, Repository
from releasemgr.access import Need, get_object_for, require_perm


def get_repository_for(request: HttpRequest, pk: int, need: Need = "view") -> Repository:
    return get_object_for(request, Repository.objects.all(), pk, need)


def require_repository_perm(request: HttpRequest, need: Need) -> None:
    require_perm(request, Repository, need)


def get_feature_for(request: HttpRequest, key: str, need: Need = "view") -> Feature:
    """Features are addressed by their key (RM-42), the name people use for them."""
    require_perm(request, Feature, need)
    try:
        return Feature.objects.select_related("repository", "owner", "started_from").get(key=key)
    except Feature.DoesNotExist:
        raise Http404(f"No feature {key}.") from None


def require_feature_perm(request: HttpRequest, need: Need) -> None:
    require_perm(request, Feature, need)


def get_collection_for(request: HttpRequest, pk: int, need: Need = "view") -> Collection:
    return get_object_for(request, Collection.objects.select_related("created_by"), pk, need)


def require_collection_perm(request: HttpRequest, need: Need) -> None:
    require_perm(request, Collection, need)
