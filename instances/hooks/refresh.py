"""After a push: fetch the repository, and tell people which features went stale.

Feature heads and stale presences are read from the local storage when a page is drawn
(instances/environments/presence.py), so fetching is what refreshes them, and the dashboard's
counts come from the presences the promotions recorded. What a push adds is news: a feature
whose branch moved on while instances hold an older commit of it became stale there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.utils import timezone

from branching import workspace
from branching.git import storage
from branching.models import Feature, Repository
from instances.hooks.models import HookDelivery, HookStatus
from instances.notifications.events import emit, stale_spec

logger = logging.getLogger(__name__)


def refresh(repository: Repository, branches: Iterable[str] | None = None) -> list[str]:
    """Fetch (when there is a remote) and emit the stale events; returns the stale keys.

    `branches` narrows the features looked at to those the push moved; None looks at all of
    the storage's features."""
    with workspace.open_storage(repository) as repo:
        workspace.sync(repository, repo)
        heads = {name: storage.hex_id(head) for name, head in storage.branch_heads(repo).items()}
        if not repository.remote_url and branches is not None:
            # A push over releasemgr's own git service brought the commits: keep the
            # commit-graph in step with them, as a fetch does.
            branches = list(branches)
            workspace.update_graph(repo, [heads[b] for b in branches if b in heads])
    features = Feature.objects.filter(repository__storage_key=repository.storage_key)
    if branches is not None:
        features = features.filter(branch__in=list(branches))
    stale = []
    for feature in features.select_related("repository"):
        head = heads.get(feature.branch)
        spec = stale_spec(feature, head) if head else None
        if spec is not None:
            emit(spec)
            stale.append(feature.key)
    return stale


def refresh_after_delivery(delivery_id: int) -> str:
    """The task a verified push queues."""
    delivery = HookDelivery.objects.select_related("repository").filter(pk=delivery_id).first()
    if delivery is None:
        return "gone"
    branches = [change["branch"] for change in delivery.changes]
    try:
        stale = refresh(delivery.repository, branches)
    except Exception as exc:  # an unreachable remote is recorded, not raised into the cluster
        logger.warning("hook delivery %s: refresh failed: %s", delivery_id, exc)
        HookDelivery.objects.filter(pk=delivery_id).update(
            status=HookStatus.ERRORED,
            detail=f"{exc.__class__.__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        return HookStatus.ERRORED
    detail = f"Fetched. Now stale: {', '.join(stale)}." if stale else "Fetched."
    HookDelivery.objects.filter(pk=delivery_id).update(
        status=HookStatus.REFRESHED, detail=detail, finished_at=timezone.now()
    )
    return HookStatus.REFRESHED


def refresh_pushed(repository_id: int, branches: list[str]) -> list[str]:
    """The task a push over releasemgr's own git service queues: the same refresh."""
    repository = Repository.objects.filter(pk=repository_id).first()
    return refresh(repository, branches) if repository is not None else []
