"""Tasks of the branching app (django-q2): the scheduled housekeeping of every git storage."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from branching.git import storage
from branching.git.housekeeping import housekeep
from branching.models import Repository
from branching.signals import commits_still_needed

logger = logging.getLogger(__name__)


def housekeeping() -> str:
    """Pack loose objects and refs, prune unreachable objects past the grace period
    (`GIT_PRUNE_AFTER_DAYS`, keeping what `commits_still_needed` receivers name) and fold the
    commit-graph of each local storage, once per storage (Repositories sharing one are updated
    together); record size, time and what was done on each.

    Scheduled daily by migration 0005; no user asks for it, so there is no permission to check.
    A storage that fails is logged and the others still run.
    """
    done: list[str] = []
    by_storage: dict[str, list[Repository]] = {}
    for repository in Repository.objects.order_by("pk"):
        by_storage.setdefault(repository.storage_key, []).append(repository)
    prune_after = int(settings.GIT_PRUNE_AFTER_DAYS * 24 * 3600)
    for key, repositories in by_storage.items():
        path = repositories[0].local_path
        if not (path / "HEAD").exists():
            continue
        try:
            keep: list[str] = []
            for _receiver, commits in commits_still_needed.send(Repository, storage_key=key):
                keep += commits or []
            with storage.open_repo(path) as repo:
                report = housekeep(repo, prune_after=prune_after, keep=keep)
        except Exception:
            logger.exception("housekeeping of %s failed", path)
            continue
        now = timezone.now()
        for repository in repositories:
            repository.storage_bytes = report.size_after
            repository.housekept_at = now
            repository.housekeeping_summary = report.summary()[:300]
            repository.save(update_fields=["storage_bytes", "housekept_at", "housekeeping_summary"])
        done.append(f"{path.name}: {report.summary()}")
    return "; ".join(done) or "no local storage"
