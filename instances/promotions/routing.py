"""Where features can go next, for the request form: built on `targets_for` and `route_among`.

Only valid targets are offered; the domain still decides on submit (`route_to` again inside
`request_promotion`), since the pipeline may have moved between the page and the click.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Q, QuerySet

from branching.models import Feature
from instances.models import Direction, FeaturePresence, Instance
from instances.promotions.rules import (
    PromotionError,
    Route,
    presences_of,
    route_among,
    targets_for,
)


def common_targets(features: Sequence[Feature]) -> list[tuple[Instance, Route]]:
    """The instances every one of `features` can go to together, with the route.

    Two queries however many features: their presences and the instances of their storages;
    the routes are worked out from those (`targets_for` and `route_among` take them loaded).
    """
    if not features:
        return []
    where = presences_of(features)
    keys = {f.repository.storage_key for f in features}
    by_storage: dict[str, dict[int, Instance]] = {key: {} for key in keys}
    for instance in Instance.objects.filter(storage_key__in=keys):
        by_storage[instance.storage_key][instance.pk] = instance
    first, *rest = features
    offered = targets_for(first, where[first.pk], by_storage[first.repository.storage_key])
    if not rest:
        return offered
    for feature in rest:
        reachable = targets_for(
            feature, where[feature.pk], by_storage[feature.repository.storage_key]
        )
        ids = {instance.pk for instance, _ in reachable}
        offered = [(i, r) for i, r in offered if i.pk in ids]
    instances = by_storage[first.repository.storage_key]
    together = []
    for instance, _ in offered:
        children = [i for i in instances.values() if i.parent_id == instance.pk]
        parent = instances.get(instance.parent_id or -1)
        try:
            together.append((instance, route_among(features, instance, where, children, parent)))
        except PromotionError:
            continue  # each can go there, but not from one common source
    return together


def candidates_for(target: Instance) -> QuerySet[Feature]:
    """Features that could come into `target`: held by a child or the parent and not by the
    target, or started from it (entering, or bringing newer commits in). A query, so that the
    request page can search it and show one page of it."""
    neighbours = list(target.children.values_list("pk", flat=True))
    if target.parent_id is not None:
        neighbours.append(target.parent_id)
    nearby = FeaturePresence.objects.filter(instance_id__in=neighbours).values("feature_id")
    here = FeaturePresence.objects.filter(instance=target).values("feature_id")
    return (
        Feature.objects.filter(repository__storage_key=target.storage_key)
        .filter(Q(pk__in=nearby) & ~Q(pk__in=here) | Q(started_from=target))
        .select_related("repository")
        .distinct()
        .order_by("key")
    )


def route_label(target: Instance, route: Route | None) -> str:
    """ "Promote to QA (from Integration)", in the words the buttons use."""
    if route is None:
        return target.name
    if route.direction == Direction.ENTER:
        return f"Bring into {target.name} (from the feature branch)"
    verb = "Promote" if route.direction == Direction.FORWARD else "Back promote"
    origin = f" (from {route.source.name})" if route.source is not None else ""
    return f"{verb} to {target.name}{origin}"
