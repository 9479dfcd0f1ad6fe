"""Who may do what on which instance: the two roles, narrowed per instance by grants.

This module is the one place that decides. Pages (through `instances.access`), tasks, commands,
the API and git over HTTP all ask it:

- `visible_instances(user)` — a queryset filter: the instances `user` may see.
- `instances_allowing(user, capability)` — the instances where `user` has `capability`.
- `allows(user, instance, capability)` — one answer for one instance.
- `capabilities_on(user, instance)` — every capability at once, for showing actions.
- `visible_promotions(user)` — promotions whose target (and source) `user` may see.

The rule. A role gives a capability everywhere (developers: view, promote; release managers:
also approve, deploy, manage; admins: everything, grants or not). On one instance, a capability
that no grant names is left to the roles, exactly as without grants; once any user or group
holds a grant for it there, only they have it (still within their role). Any grant on an
instance lets its holder see it, and `manage` includes every other capability. So one grant of
*view* to Release managers hides an instance from every developer (404, and it is gone from
the diagram, lists and targets), and one grant of *approve* to a group of approvers limits who
approves Production without hiding it.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Exists, OuterRef, Q, QuerySet

from instances.models import Capability, Instance, InstanceGrant, Promotion

AnyUser = User | AnonymousUser

# The model permission a role must hold for each capability (the ceiling grants narrow).
ROLE_PERMISSION = {
    Capability.VIEW: "instances.view_instance",
    Capability.PROMOTE: "instances.add_promotion",
    Capability.APPROVE: "instances.approve_promotion",
    Capability.DEPLOY: "instances.add_deployment",
    Capability.MANAGE: "instances.change_instance",
}


def _group_ids(user: AnyUser) -> list[int]:
    cached = getattr(user, "_instance_grant_groups", None)
    if cached is None:
        cached = list(user.groups.values_list("id", flat=True))
        user._instance_grant_groups = cached  # type: ignore[union-attr]
    return cached


def _held_by(user: AnyUser) -> Q:
    return Q(user_id=user.pk) | Q(group_id__in=_group_ids(user))


def _role_allows(user: AnyUser, capability: Capability) -> bool:
    return bool(user.is_active and user.has_perm(ROLE_PERMISSION[capability]))


def _grant_filter(user: AnyUser, capability: Capability) -> Q:
    """Q over Instance: `capability` is unrestricted there, or `user` holds it."""
    grants = InstanceGrant.objects.filter(instance_id=OuterRef("pk"))
    if capability == Capability.VIEW:
        restricted = grants.filter(capability=Capability.VIEW)
        held = grants.filter(_held_by(user))
    else:
        restricted = grants.filter(capability=capability)
        held = grants.filter(_held_by(user), capability__in=[capability, Capability.MANAGE])
    return ~Exists(restricted) | Exists(held)


def instances_allowing(
    user: AnyUser, capability: Capability | str, queryset: QuerySet[Instance] | None = None
) -> QuerySet[Instance]:
    """The instances (of `queryset`, default all) where `user` has `capability`."""
    capability = Capability(capability)
    queryset = Instance.objects.all() if queryset is None else queryset
    if not user.is_authenticated or not _role_allows(user, capability):
        return queryset.none()
    if user.is_superuser:
        return queryset
    if capability != Capability.VIEW:
        queryset = queryset.filter(_grant_filter(user, Capability.VIEW))
    return queryset.filter(_grant_filter(user, capability))


def visible_instances(
    user: AnyUser, queryset: QuerySet[Instance] | None = None
) -> QuerySet[Instance]:
    """The instances `user` may see: the filter every list, diagram and target offer uses."""
    return instances_allowing(user, Capability.VIEW, queryset)


def capabilities_on(user: AnyUser, instance: Instance) -> frozenset[Capability]:
    """Every capability `user` has on `instance` (one query for the grants)."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    roles = {c for c in Capability if _role_allows(user, c)}
    if user.is_superuser or not roles:
        return frozenset(roles)
    grants = list(
        InstanceGrant.objects.filter(instance_id=instance.pk).values_list(
            "capability", "user_id", "group_id"
        )
    )
    groups = set(_group_ids(user))
    mine = {c for c, u, g in grants if u == user.pk or g in groups}
    restricted = {c for c, _, _ in grants}
    out = set()
    for capability in roles:
        if capability == Capability.VIEW:
            ok = Capability.VIEW not in restricted or bool(mine)
        else:
            ok = capability not in restricted or bool(mine & {capability, Capability.MANAGE})
        if ok:
            out.add(capability)
    if Capability.VIEW not in out:
        return frozenset()
    return frozenset(out)


def allows(user: AnyUser, instance: Instance, capability: Capability | str) -> bool:
    return Capability(capability) in capabilities_on(user, instance)


def visible_promotions(
    user: AnyUser, queryset: QuerySet[Promotion] | None = None
) -> QuerySet[Promotion]:
    """Promotions whose target, and source if any, `user` may see."""
    queryset = Promotion.objects.all() if queryset is None else queryset
    if user.is_authenticated and user.is_superuser:
        return queryset
    visible = visible_instances(user)
    return queryset.filter(target__in=visible).filter(
        Q(source__isnull=True) | Q(source__in=visible)
    )


def has_grants(instance: Instance) -> bool:
    return InstanceGrant.objects.filter(instance_id=instance.pk).exists()
