"""Access to instances and org connections, called on the first line of every view."""

from django.http import HttpRequest

from instances.models import Instance, OrgConnection
from releasemgr.access import Need, get_object_for, require_perm


def get_instance_for(request: HttpRequest, pk: int, need: Need = "view") -> Instance:
    return get_object_for(
        request, Instance.objects.select_related("repository", "parent"), pk, need
    )


def require_instance_perm(request: HttpRequest, need: Need) -> None:
    require_perm(request, Instance, need)


def get_org_connection_for(request: HttpRequest, pk: int, need: Need = "view") -> OrgConnection:
    return get_object_for(request, OrgConnection.objects.select_related("instance"), pk, need)
