"""Access to repositories, called on the first line of every view."""

from django.http import HttpRequest

from branching.models import Repository
from releasemgr.access import Need, get_object_for, require_perm


def get_repository_for(request: HttpRequest, pk: int, need: Need = "view") -> Repository:
    return get_object_for(request, Repository.objects.all(), pk, need)


def require_repository_perm(request: HttpRequest, need: Need) -> None:
    require_perm(request, Repository, need)
