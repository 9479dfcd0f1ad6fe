"""Where features are, as the feature and instance pages show it.

`FeaturePresence` records the commit of a feature that reached an instance. A feature whose
branch has moved on since is *stale* there: the instance holds an older commit of it. Branch
heads come from the local storage, one lookup per branch shown and never from the network: a page
view does not fetch, so with a remote they are as of the last fetch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.db.models import Count, Q, QuerySet
from dulwich.errors import NotGitRepository

from branching.git import storage
from branching.models import Feature, Repository
from instances.environments.diagram import tree_rows
from instances.environments.permissions import visible_instances, visible_promotions
from instances.models import (
    Direction,
    FeaturePresence,
    Instance,
    Promotion,
    PromotionFeature,
    PromotionStatus,
)
from instances.models.promotion import TERMINAL

SUCCEEDED = PromotionStatus.SUCCEEDED

# Long lists on an instance page are cut here; the feature list shows the rest.
LIST_LIMIT = 100


class Presence(StrEnum):
    PRESENT = "present"
    STALE = "stale"
    ABSENT = "absent"


@dataclass(frozen=True)
class PresenceRow:
    instance: Instance
    depth: int
    state: Presence
    commit: str  # the commit of the feature the instance holds ("" when absent)
    promotion_id: int | None
    rolled_back_by: int | None = None  # absent because this rollback took it out


def read_branch_heads(repository: Repository, names: Sequence[str]) -> dict[str, str] | None:
    """The heads of these branches in the local storage ("" for a missing branch), one lookup
    each; None when there is no local storage yet."""
    path = repository.local_path
    if not (path / "HEAD").exists():
        return None
    try:
        with storage.open_repo(path) as repo:
            heads = storage.branch_heads_named(repo, names)
    except NotGitRepository:
        return None
    return {name: storage.hex_id(head) if head else "" for name, head in heads.items()}


def presence_rows(feature: Feature, branch_head: str | None, user: Any) -> list[PresenceRow]:
    """One row per instance of the feature's git storage that `user` may see, in hierarchy
    order: two queries."""
    instances = list(visible_instances(user).filter(storage_key=feature.repository.storage_key))
    held = {
        p.instance_id: p
        for p in FeaturePresence.objects.filter(feature=feature).only(
            "instance_id", "commit", "promotion_id"
        )
    }
    rolled_back = rollbacks_of(
        PromotionFeature.objects.filter(feature=feature).exclude(
            promotion__target_id__in=list(held)
        ),
        "promotion__target_id",
    )
    rows = []
    for row in tree_rows(instances):
        presence = held.get(row.instance.pk)
        if presence is None:
            state, commit, promotion_id = Presence.ABSENT, "", None
        else:
            stale = branch_head is not None and presence.commit != branch_head
            state = Presence.STALE if stale else Presence.PRESENT
            commit, promotion_id = presence.commit, presence.promotion_id
        rows.append(
            PresenceRow(
                row.instance,
                row.depth,
                state,
                commit,
                promotion_id,
                rolled_back.get(row.instance.pk),
            )
        )
    return rows


def rollbacks_of(items: QuerySet[PromotionFeature], key: str) -> dict[int, int]:
    """`key` (an instance or a feature id) → the latest succeeded rollback among `items`:
    where a feature is absent because a rollback took it out (docs/rollback.md)."""
    rows = (
        items.filter(promotion__direction=Direction.ROLLBACK, promotion__status=SUCCEEDED)
        .order_by("promotion__finished_at", "promotion_id")
        .values_list(key, "promotion_id")
    )
    return dict(rows)


@dataclass(frozen=True)
class Movable:
    """A feature that could move, and the unfinished promotion already moving it, if any."""

    feature: Feature
    promotion_id: int | None


@dataclass
class InstanceFeatures:
    """What an instance page lists about features, each list cut at LIST_LIMIT."""

    here: list[FeaturePresence]
    here_count: int
    ready_up: list[Movable]  # here and not in the parent: promote
    ready_up_count: int
    pending_back: list[Movable]  # in the parent and not here: back promote
    pending_back_count: int
    not_entered: list[Movable]  # started here, not brought in yet
    rolled_back: list[Movable] = field(default_factory=list)  # taken out by a rollback


def _moving(target_id: int, features: Sequence[Feature]) -> list[Movable]:
    """Pair each feature with the waiting or running promotion bringing it to the target."""
    if not features:
        return []
    moving = dict(
        PromotionFeature.objects.filter(
            promotion__target_id=target_id, feature_id__in=[f.pk for f in features]
        )
        .exclude(promotion__status__in=TERMINAL)
        .values_list("feature_id", "promotion_id")
    )
    return [Movable(f, moving.get(f.pk)) for f in features]


def instance_features(instance: Instance) -> InstanceFeatures:
    """Features here, ready to go up, pending back promotion, and not brought in yet.

    A handful of queries, each over one or two instances' presences."""
    here_ids = set(
        FeaturePresence.objects.filter(instance=instance).values_list("feature_id", flat=True)
    )
    parent_ids: set[int] = set()
    if instance.parent_id is not None:
        parent_ids = set(
            FeaturePresence.objects.filter(instance_id=instance.parent_id).values_list(
                "feature_id", flat=True
            )
        )
    up_ids = sorted(here_ids - parent_ids) if instance.parent_id else []
    back_ids = sorted(parent_ids - here_ids)
    features = Feature.objects.select_related("owner").order_by("key")
    here = list(
        FeaturePresence.objects.filter(instance=instance)
        .select_related("feature__owner")
        .order_by("-at", "-id")[:LIST_LIMIT]
    )
    ready_up = list(features.filter(pk__in=up_ids[:LIST_LIMIT])) if up_ids else []
    pending_back = list(features.filter(pk__in=back_ids[:LIST_LIMIT])) if back_ids else []
    not_entered = list(
        features.filter(started_from=instance).exclude(presences__instance=instance)[:LIST_LIMIT]
    )
    incoming = _moving(instance.pk, pending_back + not_entered)
    rollbacks = rollbacks_of(
        PromotionFeature.objects.filter(promotion__target=instance).exclude(
            feature_id__in=here_ids
        ),
        "feature_id",
    )
    rolled_back = features.filter(pk__in=list(rollbacks)[:LIST_LIMIT])
    return InstanceFeatures(
        here=here,
        here_count=len(here_ids),
        ready_up=_moving(instance.parent_id, ready_up) if instance.parent_id else [],
        ready_up_count=len(up_ids),
        pending_back=incoming[: len(pending_back)],
        pending_back_count=len(back_ids),
        not_entered=incoming[len(pending_back) :],
        rolled_back=[Movable(f, rollbacks[f.pk]) for f in rolled_back],
    )


def recent_promotions(instance: Instance, user: Any, limit: int = 15) -> list[Promotion]:
    """Promotions into or out of the instance that `user` may see, newest first, with their
    features' keys."""
    return list(
        visible_promotions(user)
        .filter(Q(target=instance) | Q(source=instance))
        .select_related("target", "source", "requested_by")
        .prefetch_related("items__feature")
        .order_by("-id")[:limit]
    )


def pending_counts() -> tuple[dict[int, int], dict[int, int]]:
    """(features ready to promote from each instance to its parent, back promotions pending
    into each instance), for the diagram: two queries whatever the size of the pipeline."""
    parents = dict(Instance.objects.values_list("id", "parent_id"))
    held: dict[int, set[int]] = {}
    for instance_id, feature_id in FeaturePresence.objects.values_list("instance_id", "feature_id"):
        held.setdefault(instance_id, set()).add(feature_id)
    up: dict[int, int] = {}
    back: dict[int, int] = {}
    for instance_id, parent_id in parents.items():
        if parent_id is None:
            continue
        mine, theirs = held.get(instance_id, set()), held.get(parent_id, set())
        if ready := len(mine - theirs):
            up[instance_id] = ready
        if pending := len(theirs - mine):
            back[instance_id] = pending
    return up, back


def active_counts(target_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    rows = (
        Promotion.objects.filter(target_id__in=list(target_ids))
        .exclude(status__in=TERMINAL)
        .values("target_id", "status")
        .annotate(n=Count("id"))
    )
    out: dict[int, dict[str, int]] = {}
    for row in rows:
        out.setdefault(row["target_id"], {})[row["status"]] = row["n"]
    return out
