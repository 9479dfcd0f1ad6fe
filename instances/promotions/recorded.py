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

In the merge step, `apply_resolutions` writes over each conflicted path the resolution given in
the promotion (resolved text, or one side taken whole) or a recorded one that replays, or stops
the merge as conflicted; `check_replays_approved` sends replays the approvals do not cover back
for approval, and `record_resolutions` records the resolutions given.
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
from branching.models import Feature, Repository
from instances.environments.permissions import AnyUser, visible_instances
from instances.models import Promotion, RecordedResolution, Step
from instances.promotions import approvals, conflicts
from instances.promotions.running import Conflicted, NeedsApproval, Run
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


def replay_all(
    repository: Repository, result: Any, read: Read, auto: dict[str, dict[str, Any]]
) -> dict[str, storage.Change] | None:
    """What replaying recorded resolutions writes over every conflicted path of a merge, or
    None unless each of them has one that fits (the dry run's question). What each replay
    would be on the promotion (`auto_entry`) goes into `auto` when all of them fit."""
    if result.unclean_without_paths:
        return None
    entries = {entry.path: entry for entry in result.entries}
    changes: dict[str, storage.Change] = {}
    found: dict[str, dict[str, Any]] = {}
    for path in result.conflicts:
        entry = entries.get(path)
        replayed = replay_for(repository, entry, read) if entry is not None else None
        if entry is None or replayed is None:
            return None
        stage = entry.result or entry.ours
        changes[path] = (replayed.content, stage[0] if stage else storage.REGULAR)
        found[path] = auto_entry(replayed, entry, read)
    auto.update(found)
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


# --------------------------------------------------------------------------- in the merge step


class Resolving:
    """What resolving the conflicts of one merge step found, over all its features: the
    paths resolved by a recorded resolution, and the resolutions given here, to record."""

    def __init__(self, repo: storage.Repo) -> None:
        self.read = reader(repo)
        self.auto: dict[str, dict[str, Any]] = {}
        self.made: list[tuple[Any, bytes]] = []  # (conflict entry, what was written)


def apply_resolutions(
    run: Run, repo: storage.Repo, result: Any, feature: Feature, resolving: Resolving
) -> bytes:
    """Write the stored resolutions over the conflicted paths, or replay a recorded
    resolution of the same conflict (`recorded`), or raise Conflicted.

    A resolved text keeps the file's mode; taking one side whole writes that side's blob as it
    is, and only if that side still holds the blob the conflict showed.
    """
    promotion = run.promotion
    resolutions: dict[str, conflicts.Resolution] = promotion.resolutions or {}
    entries = {entry.path: entry for entry in result.entries}
    changes: dict[str, storage.Change] = {}
    unresolved = []
    replays: list[tuple[str, Replayed]] = []
    for path in result.conflicts:
        entry, given = entries.get(path), resolutions.get(path)
        change = _resolved(given, entry)
        if change is not _UNRESOLVED:
            changes[path] = change
            written = _written(change, resolving.read)
            if entry is not None and written is not None:
                resolving.made.append((entry, written))
            continue
        replayed = (
            replay_for(promotion.target.repository, entry, resolving.read)
            if given is None and entry is not None
            else None
        )
        if replayed is None:
            unresolved.append(path)
            continue
        changes[path] = (replayed.content, _mode_of(entry))
        resolving.auto[path] = auto_entry(replayed, entry, resolving.read)
        replays.append((path, replayed))
    for path, replayed in replays:
        used(replayed)
        origin = replayed.recorded.promotion_id
        run.log(
            f"Resolved {path} with the resolution recorded "
            + (f"in promotion #{origin}" if origin else "earlier")
            + f" for the same conflict ({replayed.recorded.conflict_id[:10]})."
        )
    if unresolved or result.unclean_without_paths:
        run.record(Step(promotion.step), pause=False, auto_resolutions=resolving.auto)
        raise Conflicted(
            feature, promotion.target, _describe_conflicts(repo, result, set(unresolved))
        )
    tree = storage.update_tree(repo, result.tree, changes)
    given_paths = [path for path in result.conflicts if path in resolutions]
    if given_paths:
        run.log(f"Applied the stored resolutions for {', '.join(given_paths)}.")
    return tree


def _mode_of(entry: Any) -> int:
    stage = (entry.result or entry.ours or entry.theirs) if entry else None
    return int(stage[0]) if stage else storage.REGULAR


def _written(change: Any, read: Any) -> bytes | None:
    """The bytes a resolution writes (None when it deletes the path)."""
    if isinstance(change, storage.BlobRef):
        return read(change.id)
    if isinstance(change, tuple):
        return bytes(change[0])
    return None


def check_replays_approved(run: Run, auto: dict[str, dict[str, Any]]) -> None:
    """On an approval-gated target, what recorded resolutions wrote is part of what is
    approved: approvals given before those resolutions were applied do not cover them."""
    promotion = run.promotion
    if not promotion.target.requires_approval or not (auto or promotion.auto_resolutions):
        return
    digest = approvals.digest_of(approvals.subject_of(promotion, auto=auto))
    if not approvals.missing_approvals(promotion, digest):
        return
    run.record(Step(promotion.step), pause=False, auto_resolutions=auto)
    if auto:
        origins = sorted({f"#{e['promotion']}" for e in auto.values() if e.get("promotion")})
        made = f" (made in promotion {', '.join(origins)})" if origins else ""
        what = f"Recorded resolutions resolved {', '.join(sorted(auto))}{made}"
    else:
        what = "The merge no longer needs the recorded resolutions that were approved"
    raise NeedsApproval(
        f"{what}; the approvals given do not cover what is merged now, so it needs approval again."
    )


def record_resolutions(run: Run, resolving: Resolving) -> None:
    """Record the resolutions given in this promotion, for the next time their conflict
    comes back (in another instance, a back promotion, a new request)."""
    promotion = run.promotion
    sides: dict[str, dict[str, Any]] = promotion.resolved_conflicts or {}
    by: dict[str, int] = {p: s["by"] for p, s in sides.items() if isinstance(s.get("by"), int)}
    users = {u.pk: u for u in User.objects.filter(pk__in=by.values())}
    for entry, written in resolving.made:
        user = users.get(by.get(entry.path, 0)) or promotion.requested_by
        row = record(promotion, entry, resolving.read, written, user)
        if row is not None:
            run.log(
                f"Recorded the resolution of {entry.path} (conflict {row.conflict_id[:10]}): "
                "the same conflict is resolved the same way from now on."
            )


_UNRESOLVED = object()


def _resolved(resolution: conflicts.Resolution | None, entry: Any) -> Any:
    """What a stored resolution writes at a conflicted path, or _UNRESOLVED."""
    if resolution is None:
        return _UNRESOLVED
    if isinstance(resolution, dict):
        stage = getattr(entry, resolution.get("take", ""), None) if entry else None
        held = stage[1].decode("ascii") if stage else ""
        if entry is None or held != resolution.get("blob", ""):
            return _UNRESOLVED  # that side changed since the choice: show it again
        return storage.BlobRef(storage.object_id(held), stage[0]) if stage else None
    return (resolution.encode("utf-8"), _mode_of(entry))


def _describe_conflicts(repo: storage.Repo, result: Any, paths: set[str]) -> list[dict[str, Any]]:
    kinds = result.kinds()
    read = reader(repo)
    out = []
    for entry in result.entries:
        if entry.path not in paths:
            continue
        blobs = {side: getattr(entry, side) for side in conflicts.SIDES}
        out.append(conflicts.describe(entry.path, kinds.get(entry.path, []), blobs, read))
    known = {c["path"] for c in out}
    out.extend({"path": p, "kinds": kinds.get(p, [])} for p in sorted(paths - known))
    return out


# --------------------------------------------------------------------------- pages


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
