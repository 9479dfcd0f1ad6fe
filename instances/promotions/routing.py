"""Where features are and where they can go: the route of a promotion, and what the request
form offers.

`route_to` infers the direction (forward, back or enter) from where the features are and says
why when there is none; `targets_for` and `common_targets` list the valid targets for the
forms and pages. Only valid targets are offered; the domain still decides on submit
(`route_to` again inside `request_promotion`), since the pipeline may have moved between the
page and the click.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet

from branching.git import storage
from branching.models import Feature
from instances.environments.permissions import Capability, instances_allowing, visible_instances
from instances.models import Direction, FeaturePresence, Instance
from instances.promotions.errors import PromotionError


def presences_of(features: Iterable[Feature]) -> dict[int, dict[int, str]]:
    """feature id → {instance id: commit of the feature that reached it}."""
    ids = [f.pk for f in features]
    out: dict[int, dict[int, str]] = {i: {} for i in ids}
    for feature_id, instance_id, commit in FeaturePresence.objects.filter(
        feature_id__in=ids
    ).values_list("feature_id", "instance_id", "commit"):
        out[feature_id][instance_id] = commit
    return out


@dataclass(frozen=True)
class Route:
    """How a set of features can reach a target: the direction and where they come from."""

    direction: Direction
    source: Instance | None


def route_to(features: Sequence[Feature], target: Instance) -> Route:
    """Infer forward, back or enter from where the features are; raise with the reason if none."""
    if not features:
        raise PromotionError("Choose at least one feature.")
    return route_among(
        features, target, presences_of(features), list(target.children.all()), target.parent
    )


def route_among(
    features: Sequence[Feature],
    target: Instance,
    where: dict[int, dict[int, str]],
    children: Sequence[Instance],
    parent: Instance | None,
) -> Route:
    """`route_to`, from what the caller already loaded: the features' presences (`where`) and
    the target's children (in name order) and parent. No query, so a page can ask it of many
    targets at the cost of one load."""
    if not features:
        raise PromotionError("Choose at least one feature.")
    foreign = [f.key for f in features if f.repository.storage_key != target.storage_key]
    if foreign:
        raise PromotionError(
            f"{', '.join(foreign)} live in another git storage than {target.name}."
        )
    already = [f.key for f in features if target.pk in where[f.pk]]
    entering = [f for f in features if f.started_from_id == target.pk]
    if len(entering) == len(features):
        # Entering the start instance again is how a feature's newer commits get in.
        return Route(Direction.ENTER, None)
    if already:
        raise PromotionError(f"{', '.join(already)} {are(already)} already in {target.name}.")
    for child in children:
        if all(child.pk in where[f.pk] for f in features):
            return Route(Direction.FORWARD, child)
    if parent is not None and all(parent.pk in where[f.pk] for f in features):
        return Route(Direction.BACK, parent)
    missing = [
        f.key
        for f in features
        if not any(c.pk in where[f.pk] for c in children)
        and not (parent and parent.pk in where[f.pk])
    ]
    around = [c.name for c in children] + ([f"its parent {parent.name}"] if parent else [])
    if missing:
        return_to = " or ".join(around) if around else "no neighbour"
        raise PromotionError(
            f"{', '.join(missing)} {are(missing)} not in {return_to}: {target.name} can only "
            "receive features from a child (promote) or from its parent (back promote), or a "
            "feature entering the instance it was started from."
        )
    raise PromotionError(
        f"The features are spread over several instances; no one child or parent of "
        f"{target.name} holds them all. Promote them in smaller groups."
    )


def are(keys: Sequence[str]) -> str:
    """“is” for one key, “are” for several."""
    return "is" if len(keys) == 1 else "are"


def targets_for(
    feature: Feature,
    where: dict[int, str] | None = None,
    instances: dict[int, Instance] | None = None,
) -> list[tuple[Instance, Route]]:
    """Every instance this feature can go to next, with the route (for forms and pages).

    `where` (the feature's presences) and `instances` (every instance of its storage, by id)
    are loaded when not given; a caller asking for many features loads them once for all."""
    if where is None:
        where = presences_of([feature])[feature.pk]
    if instances is None:
        instances = {
            i.pk: i for i in Instance.objects.filter(storage_key=feature.repository.storage_key)
        }
    out: list[tuple[Instance, Route]] = []
    start = instances.get(feature.started_from_id or -1)
    if start is not None:
        out.append((start, Route(Direction.ENTER, None)))
    for instance_id in where:
        holder = instances.get(instance_id)
        if holder is None:
            continue
        parent = instances.get(holder.parent_id or -1)
        if parent is not None and parent.pk not in where:
            out.append((parent, Route(Direction.FORWARD, holder)))
        for child in instances.values():
            if child.parent_id == holder.pk and child.pk not in where:
                out.append((child, Route(Direction.BACK, holder)))
    seen: set[int] = set()
    unique = []
    for instance, route in out:
        if instance.pk not in seen:
            seen.add(instance.pk)
            unique.append((instance, route))
    return unique


def targets_offered(feature: Feature, user: User) -> list[tuple[Instance, Route]]:
    """`targets_for` as `user` may use them: into instances they may promote into, from
    instances they may see (a route out of a hidden instance is not theirs to take, and would
    name it)."""
    if not user.has_perm("instances.add_promotion"):
        return []
    allowed = set(instances_allowing(user, Capability.PROMOTE).values_list("pk", flat=True))
    seen = set(visible_instances(user).values_list("pk", flat=True))
    return [
        (instance, route)
        for instance, route in targets_for(feature)
        if instance.pk in allowed and (route.source is None or route.source.pk in seen)
    ]


def feature_commits(features: Sequence[Feature], route: Route, repo: storage.Repo) -> list[str]:
    """The commit of each feature to merge: its branch head when entering, else the source's."""
    commits = []
    where = presences_of(features)
    for feature in features:
        if route.direction == Direction.ENTER:
            head = storage.branch_head(repo, feature.branch)
            if head is None:
                raise PromotionError(f"The branch “{feature.branch}” of {feature.key} is gone.")
            commits.append(storage.hex_id(head))
        else:
            assert route.source is not None
            commits.append(where[feature.pk][route.source.pk])
    return commits


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
