"""Approvals: who may approve a promotion, what an approval covers, and whether enough are given.

An approval binds to exactly what it approved (docs/design.md, invariant 8): the feature
commits being promoted and the conflict resolutions that will be written into the merge, as a
digest stored with the approval. Only approvals whose digest is the promotion's current one
count, so new feature commits or new or changed resolutions need new approvals; the engine
compares digests again before it merges.

Who counts: someone who may approve into the target (`instances.environments.permissions`),
named by the target's approval policy if it names anyone, and neither the requester nor the
last committer of a promoted feature. How many: the policy's number, one without a policy.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from dulwich.objects import Commit

from branching.git import storage
from instances.environments.permissions import Capability, allows
from instances.models import Approval, ApprovalPolicy, Decision, Instance, Promotion
from instances.promotions.conflicts import Resolution, describe_resolution


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _resolution_key(resolution: Resolution) -> str:
    """A resolution in the subject: its text's digest, or which side's blob it takes."""
    if isinstance(resolution, dict):
        return f"take {resolution['take']} {resolution.get('blob', '')}"
    return _sha(resolution)


def subject_of(
    promotion: Promotion,
    resolutions: dict[str, Resolution] | None = None,
    *,
    auto: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What an approval of `promotion` covers (with `resolutions` instead of its stored ones,
    and `auto` instead of the recorded resolutions its last merge replayed)."""
    items = promotion.items.select_related("feature").order_by("position", "id")
    chosen = promotion.resolutions if resolutions is None else resolutions
    replayed = promotion.auto_resolutions if auto is None else auto
    subject: dict[str, Any] = {
        "target": promotion.target_id,
        "direction": promotion.direction,
        "source": promotion.source_id,
        "features": [{"key": i.feature.key, "commit": i.commit} for i in items],
        "resolutions": {
            path: _resolution_key(value) for path, value in sorted((chosen or {}).items())
        },
    }
    original = promotion.rollback_of
    if original is not None:
        # A rollback approves the revert of exactly these merges.
        subject["rollback_of"] = {
            "promotion": original.pk,
            "reverts": [original.target_head_before, original.target_head_after],
        }
    if replayed:
        # What each recorded resolution wrote, and which one it was (absent when none was
        # replayed, so that approvals of promotions without any keep their digest).
        subject["recorded_resolutions"] = {
            path: {"recorded": entry.get("recorded"), "sha256": entry.get("sha256")}
            for path, entry in sorted(replayed.items())
        }
    return subject


def digest_of(subject: dict[str, Any]) -> str:
    return _sha(json.dumps(subject, sort_keys=True, separators=(",", ":")))


def current_digest(promotion: Promotion) -> str:
    return digest_of(subject_of(promotion))


@dataclass(frozen=True)
class Policy:
    required: int
    group_ids: frozenset[int]
    user_ids: frozenset[int]
    names: str  # "group Finance, alice", for messages

    def admits(self, user: User) -> bool:
        if not self.group_ids and not self.user_ids:
            return True
        if user.pk in self.user_ids:
            return True
        return bool(self.group_ids & set(user.groups.values_list("id", flat=True)))


def policy_for(instance: Instance) -> Policy:
    row = (
        ApprovalPolicy.objects.filter(instance_id=instance.pk)
        .prefetch_related("approver_groups", "approver_users")
        .first()
    )
    if row is None:
        return Policy(1, frozenset(), frozenset(), "")
    groups = list(row.approver_groups.all())
    users = list(row.approver_users.all())
    names = ", ".join([f"group {g.name}" for g in groups] + [u.username for u in users])
    return Policy(
        row.required_approvals,
        frozenset(g.pk for g in groups),
        frozenset(u.pk for u in users),
        names,
    )


def last_committers(promotion: Promotion) -> dict[str, list[str]]:
    """feature key → the author and committer identities ("Name <email>") of the commit
    promoted, read from the local storage (a commit not there yet names nobody)."""
    out: dict[str, list[str]] = {}
    items = list(promotion.items.select_related("feature"))
    path = promotion.target.repository.local_path
    if not (path / "HEAD").exists():  # no storage here yet (never clone inside a request)
        return out
    with storage.open_repo(path) as repo:
        for item in items:
            try:
                commit = repo[item.commit.encode()]
            except (KeyError, ValueError):
                continue
            if isinstance(commit, Commit):
                out[item.feature.key] = [
                    commit.author.decode("utf-8", "replace"),
                    commit.committer.decode("utf-8", "replace"),
                ]
    return out


def _is(user: User, identity: str) -> bool:
    name, _, rest = identity.partition("<")
    email = rest.rstrip(">").strip().lower()
    if user.email and email == user.email.strip().lower():
        return True
    return name.strip() in {user.get_username(), user.get_full_name()} - {""}


def why_not_approver(
    promotion: Promotion, user: User, policy: Policy | None = None, *, committers: bool = True
) -> str | None:
    """Why `user` may not approve (or reject) `promotion`, or None when they may."""
    target = promotion.target
    if not user.is_active or not user.has_perm("instances.approve_promotion"):
        return "Only release managers approve promotions."
    if not allows(user, target, Capability.APPROVE):
        return f"{user} may not approve promotions into {target.name}."
    if user.pk == promotion.requested_by_id:
        return "A promotion needs approval by someone other than its requester."
    policy = policy or policy_for(target)
    if not policy.admits(user):
        return f"{target.name}'s approval policy names its approvers: {policy.names}."
    if committers:
        for key, identities in last_committers(promotion).items():
            if any(_is(user, identity) for identity in identities):
                return f"{user} made the last commit of {key}; someone else must approve it."
    return None


def valid_approvals(promotion: Promotion, digest: str | None = None) -> list[Approval]:
    """The approvals that count now: of exactly `digest` (default: what the promotion holds
    now), by different people who may still approve. The last committer is checked when an
    approval is given; the same digest means the same commits, so the same committers."""
    digest = digest if digest is not None else current_digest(promotion)
    policy = policy_for(promotion.target)
    seen: set[int] = set()
    out = []
    for approval in promotion.approvals.filter(decision=Decision.APPROVED, digest=digest).order_by(
        "at", "id"
    ):
        if approval.user_id in seen:
            continue
        if why_not_approver(promotion, approval.user, policy, committers=False) is None:
            seen.add(approval.user_id)
            out.append(approval)
    return out


def missing_approvals(promotion: Promotion, digest: str | None = None) -> int:
    """How many more approvals the promotion needs before it may run (0 when none)."""
    if not promotion.target.requires_approval:
        return 0
    return max(0, policy_for(promotion.target).required - len(valid_approvals(promotion, digest)))


def describe_need(promotion: Promotion, missing: int | None = None) -> str:
    """The "why it waits" words for a promotion awaiting approval."""
    policy = policy_for(promotion.target)
    missing = missing_approvals(promotion) if missing is None else missing
    who = f"from {policy.names}" if policy.names else "by a release manager"
    count = "1 more approval" if missing == 1 else f"{missing} more approvals"
    of = f" (of {policy.required})" if policy.required > 1 else ""
    return (
        f"Waiting for approval {who} other than {promotion.requested_by} and the last "
        f"committer of each feature: {count}{of} needed."
    )


@dataclass(frozen=True)
class ResolutionDiff:
    """A resolved path shown to the approver: the resolution against each side, and, for a
    replayed recorded resolution, which promotion recorded it."""

    path: str
    against_ours: str
    against_theirs: str
    recorded: int | None = None  # the RecordedResolution replayed
    recorded_in: int | None = None  # the promotion it was made in


def _diff(before: str | None, after: str, label: str) -> str:
    lines = difflib.unified_diff(
        (before or "").splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=label,
        tofile="resolution",
    )
    return "".join(lines) or "(identical)"


def resolution_diffs(promotion: Promotion) -> list[ResolutionDiff]:
    sides: dict[str, dict[str, Any]] = promotion.resolved_conflicts or {}
    out = []
    for path, value in sorted((promotion.resolutions or {}).items()):
        side = sides.get(path, {})
        if isinstance(value, dict):
            words = describe_resolution(value, promotion.target.name)
            out.append(ResolutionDiff(path, words, words))
            continue
        out.append(
            ResolutionDiff(
                path,
                _diff(side.get("ours"), value, f"ours ({promotion.target.branch})"),
                _diff(side.get("theirs"), value, "theirs (the feature)"),
            )
        )
    for path, entry in sorted((promotion.auto_resolutions or {}).items()):
        if path in (promotion.resolutions or {}):
            continue
        text = entry.get("text") or ""
        out.append(
            ResolutionDiff(
                path,
                _diff(entry.get("ours"), text, f"ours ({promotion.target.branch})"),
                _diff(entry.get("theirs"), text, "theirs (the feature)"),
                recorded=entry.get("recorded"),
                recorded_in=entry.get("promotion"),
            )
        )
    return out
