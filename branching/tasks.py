"""Tasks of the branching app (django-q2): the scheduled housekeeping of every git storage."""

from __future__ import annotations

import logging

from django.utils import timezone

from branching.git import storage
from branching.git.housekeeping import housekeep
from branching.models import Repository

logger = logging.getLogger(__name__)


def housekeeping() -> str:
    """Pack loose objects and refs and fold the commit-graph of each local storage, once per
    storage (Repositories sharing one are updated together); record size and time on each.

    Scheduled daily by migration 0005; no user asks for it, so there is no permission to check.
    A storage that fails is logged and the others still run.
    """
    done: list[str] = []
    by_storage: dict[str, list[Repository]] = {}
    for repository in Repository.objects.order_by("pk"):
        by_storage.setdefault(repository.storage_key, []).append(repository)
    for repositories in by_storage.values():
        path = repositories[0].local_path
        if not (path / "HEAD").exists():
            continue
        try:
            with storage.open_repo(path) as repo:
                report = housekeep(repo)
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
