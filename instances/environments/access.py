"""Access to instances and org connections, called on the first line of every view.

The decisions are `instances.environments.permissions`'; this module turns them into 404 (may
not see) and 403 (may see, may not act) for requests.
"""

from collections.abc import Iterable
from typing import Literal, TypeVar

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from instances.environments.permissions import capabilities_on, visible_instances
from instances.models import Capability, Instance, OrgConnection
from releasemgr.access import Need, get_object_for, require_perm

T = TypeVar("T")

InstanceNeed = Need | Literal["promote", "approve", "deploy", "manage"]

# Model-level needs of the instance pages and the capability each needs on the instance.
_CAPABILITY = {
    "view": Capability.VIEW,
    "add": Capability.MANAGE,
    "change": Capability.MANAGE,
    "delete": Capability.MANAGE,
    "promote": Capability.PROMOTE,
    "approve": Capability.APPROVE,
    "deploy": Capability.DEPLOY,
    "manage": Capability.MANAGE,
}
_REFUSAL = {
    Capability.PROMOTE: "You may not request promotions into {}.",
    Capability.APPROVE: "You may not approve promotions into {}.",
    Capability.DEPLOY: "You may not deploy to {} or change its org connection.",
    Capability.MANAGE: "You may not manage {}.",
}


def check_instance(request: HttpRequest, instance: Instance, need: InstanceNeed) -> None:
    """404 when the user may not see `instance`, 403 when they may not `need` it."""
    capabilities = capabilities_on(request.user, instance)
    if Capability.VIEW not in capabilities:
        raise Http404(f"No instance with id {instance.pk}.")
    capability = _CAPABILITY[need]
    if capability not in capabilities:
        raise PermissionDenied(_REFUSAL[capability].format(instance.name))


def get_instance_for(request: HttpRequest, pk: int, need: InstanceNeed = "view") -> Instance:
    # Visibility first: someone who may not see the instance learns nothing, not even a 403.
    instance = get_object_for(
        request, Instance.objects.select_related("repository", "parent"), pk, "view"
    )
    check_instance(request, instance, "view")
    if need in ("add", "change", "delete"):
        require_perm(request, Instance, need)
    check_instance(request, instance, need)
    return instance


def require_instance_perm(request: HttpRequest, need: Need) -> None:
    require_perm(request, Instance, need)


def get_org_connection_for(request: HttpRequest, pk: int, need: Need = "view") -> OrgConnection:
    connection = get_object_for(
        request, OrgConnection.objects.select_related("instance"), pk, "view"
    )
    check_instance(request, connection.instance, "view")
    if need != "view":
        require_perm(request, OrgConnection, need)
        check_instance(request, connection.instance, "deploy")
    return connection


def conceal_hidden(request: HttpRequest, rows: Iterable[T], field: str = "parent") -> list[T]:
    """For display only: an instance in `field` of each row (an instance's parent, a feature's
    `started_from`) that the user may not see is shown as none (never saved). The rows, as a
    list."""
    rows = list(rows)
    ids = {getattr(row, f"{field}_id") for row in rows} - {None}
    if not ids:
        return rows
    seen = set(visible_instances(request.user).filter(pk__in=ids).values_list("pk", flat=True))
    for row in rows:
        if getattr(row, f"{field}_id") not in seen | {None}:
            setattr(row, field, None)
    return rows
