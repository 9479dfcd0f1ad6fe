"""Conflict resolutions that travel: recorded once, replayed when the same conflict comes back.

Like git rerere (`branching.git.rerere`), a resolution is recorded by its conflict: the
conflicted hunks of the file, normalised so that which side was ours does not matter and the
markers' labels (the branch names) are stripped. Only what rerere handles is recorded: a path
whose ours and theirs are both files and whose merged text holds conflict hunks (not a
binary file, a modify/delete or a file/folder conflict).

The merge step records the resolution a person gave once it has merged with it, and for a
conflicted path nobody resolved in this promotion looks up the recorded resolutions of the
same repository, path and conflict id, and replays the first that merges cleanly with this
occurrence (rerere's variants). A different conflict on the same path has another id, so it
is never resolved by it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from dulwich.objects import ObjectID

from branching.git import rerere, storage
from branching.models import Repository
from instances.environments.permissions import AnyUser, visible_instances
from instances.models import Promotion, RecordedResolution
from instances.promotions import conflicts
from releasemgr.models import AuditEvent

Read = Callable[[bytes], bytes]
_FILES = {storage.REGULAR, storage.EXECUTABLE}


def reader(repo: storage.Repo) -> Read:
    """The bytes of a blob of `repo`, by its hex id."""
    return lambda blob: repo.object_store[ObjectID(blob)].as_raw_string()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def conflict_of(entry: Any, read: Read) -> rerere.Normalised | None:
    """The normalised conflict at a conflicted path (a `ConflictEntry`), or None when rerere
    would not handle it."""
    if entry is None or entry.result is None:
        return None
    if not (entry.ours and entry.theirs and {entry.ours[0], entry.theirs[0]} <= _FILES):
        return None
    return rerere.normalise(read(entry.result[1]))


@dataclass(frozen=True)
class Replayed:
    recorded: RecordedResolution
    content: bytes


def replay_for(repository: Repository, entry: Any, read: Read) -> Replayed | None:
    """The recorded resolution of this conflict, applied to this occurrence, if one fits."""
    conflict = conflict_of(entry, read)
    if conflict is None:
        return None
    candidates = RecordedResolution.objects.filter(
        repository=repository, path=entry.path, conflict_id=conflict.conflict_id
    ).order_by("id")
    for row in candidates:
        content = rerere.replay(bytes(row.preimage), conflict.preimage, bytes(row.postimage))
        if content is not None:
            return Replayed(row, content)
    return None


def replay_all(repository: Repository, result: Any, read: Read) -> dict[str, storage.Change] | None:
    """What replaying recorded resolutions writes over every conflicted path of a merge, or
    None unless each of them has one that fits (the dry run's question)."""
    if result.unclean_without_paths:
        return None
    entries = {entry.path: entry for entry in result.entries}
    changes: dict[str, storage.Change] = {}
    for path in result.conflicts:
        entry = entries.get(path)
        replayed = replay_for(repository, entry, read) if entry is not None else None
        if entry is None or replayed is None:
            return None
        stage = entry.result or entry.ours
        changes[path] = (replayed.content, stage[0] if stage else storage.REGULAR)
    return changes


def used(replayed: Replayed) -> None:
    RecordedResolution.objects.filter(pk=replayed.recorded.pk).update(
        last_used_at=timezone.now(), times_used=F("times_used") + 1
    )


def auto_entry(replayed: Replayed, entry: Any, read: Read) -> dict[str, Any]:
    """What `Promotion.auto_resolutions` keeps of a replayed path: which resolution, from
    which promotion, the digest of what it wrote (the approval subject), and the texts the
    approver's diff shows."""

    def text(stage: Any) -> str | None:
        return None if stage is None else conflicts.shown_text(read(stage[1]))[0]

    row = replayed.recorded
    return {
        "recorded": row.pk,
        "promotion": row.promotion_id,
        "conflict_id": row.conflict_id,
        "sha256": _sha256(replayed.content),
        "text": conflicts.shown_text(replayed.content)[0],
        "ours": text(entry.ours),
        "theirs": text(entry.theirs),
    }


def record(
    promotion: Promotion, entry: Any, read: Read, postimage: bytes, user: User | None
) -> RecordedResolution | None:
    """Record (or update) the resolution of the conflict at `entry` as `postimage`."""
    conflict = conflict_of(entry, read)
    if conflict is None:
        return None
    digest = _sha256(conflict.preimage)
    fields = {
        "preimage": conflict.preimage,
        "postimage": postimage,
        "made_by": user,
        "promotion": promotion,
        "made_at": timezone.now(),
    }
    key = {
        "repository": promotion.target.repository,
        "path": entry.path,
        "conflict_id": conflict.conflict_id,
        "preimage_sha256": digest,
    }
    try:
        with transaction.atomic():
            row, _ = RecordedResolution.objects.update_or_create(**key, defaults=fields)
    except IntegrityError:  # recorded by another worker a moment ago: ours is as good
        row = RecordedResolution.objects.get(**key)
    return row


def visible_resolutions(user: AnyUser, repository: Repository) -> QuerySet[RecordedResolution]:
    """The recorded resolutions of `repository` that `user` may see: those made in promotions
    into instances they may see (a resolution carries that instance's content)."""
    return (
        RecordedResolution.objects.filter(repository=repository)
        .filter(Q(promotion__isnull=True) | Q(promotion__target__in=visible_instances(user)))
        .select_related("made_by", "promotion__target")
    )


def forget(resolution: RecordedResolution, user: User) -> None:
    """Delete a recorded resolution, in the audit trail of its repository: the next time its
    conflict comes back, it conflicts again."""
    AuditEvent.record(
        user,
        "forgot a recorded resolution",
        resolution.repository,
        {
            "path": resolution.path,
            "conflict_id": resolution.conflict_id,
            "made_in_promotion": resolution.promotion_id,
        },
    )
    resolution.delete()
