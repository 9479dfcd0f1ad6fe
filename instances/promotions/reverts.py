"""Rollbacks: when a promotion can be rolled back (`why_no_rollback`), which commits a
rollback reverts, and which rollbacks a promotion has to revert before it merges
(docs/rollback.md).

A promotion's merges into its target run from `target_head_before` to `target_head_after`. Its
rollback is one commit on the target branch whose tree is what `git revert -m 1` gives for a
single merge, and reverting the whole range for several: merge-ort with the promotion's last
merge as the base, the target's current head as ours and `target_head_before` as theirs.

A rolled-back feature's commits stay in the target branch's history, so merging them again
merges nothing (git's trap of reverted merges). A promotion that brings a rolled-back feature
back therefore first reverts the rollback's commit the same way ("revert the revert"), then
merges whatever is newer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db.models import Q
from dulwich.objects import Commit

from branching.git import storage
from branching.git.merge import Merger, MergeResult
from branching.metadata.gitread import changed_files
from branching.models import Feature
from instances.environments.permissions import AnyUser, Capability, allows
from instances.models import (
    Direction,
    Instance,
    Promotion,
    PromotionFeature,
    PromotionStatus,
)
from instances.models.promotion import RETRYABLE

# A rollback holds its promotion unless it was cancelled or rejected: nobody may ask for
# another (a conflicted or failed one is retried, never doubled by a second).
_RELEASED = (PromotionStatus.CANCELLED, PromotionStatus.REJECTED)


def revert(
    merger: Merger,
    head: bytes,
    *,
    reverted: str,
    parent: str,
    ours_label: str,
    theirs_label: str,
) -> MergeResult:
    """Revert `parent..reverted` on top of `head`, as `git revert -m 1` does for a merge:
    a three-way merge of trees with `reverted` as the base and `parent` as theirs."""
    return merger.merge_trees(
        merger.node(storage.object_id(reverted)).tree,
        merger.node(head).tree,
        merger.node(storage.object_id(parent)).tree,
        ours_label=ours_label,
        theirs_label=theirs_label,
    )


def theirs_label(commit: str, subject: str) -> str:
    """The label `git revert` puts after `>>>>>>>`: "parent of <short id> (<subject>)"."""
    return f"parent of {commit[:7]} ({subject})"


def commit_subject(repo: storage.Repo, commit: str) -> str:
    """The first line of a commit's message."""
    obj = repo[storage.object_id(commit)]
    assert isinstance(obj, Commit)
    return obj.message.split(b"\n", 1)[0].decode("utf-8", "replace")


def holding_rollback(promotion: Promotion) -> Promotion | None:
    """The rollback already asked for, running or made of `promotion`, if any."""
    return promotion.rollbacks.exclude(status__in=_RELEASED).order_by("-id").first()


def succeeded_into(target_id: int, feature_ids: Iterable[int]) -> list[PromotionFeature]:
    """The succeeded promotions into a target that carried these features, oldest first."""
    return list(
        PromotionFeature.objects.filter(
            promotion__target_id=target_id,
            promotion__status=PromotionStatus.SUCCEEDED,
            feature_id__in=list(feature_ids),
        )
        .select_related("promotion", "feature")
        .order_by("promotion__finished_at", "promotion_id")
    )


def rollbacks_to_undo(
    target_id: int, feature_ids: Iterable[int], exclude: int | None = None
) -> list[Promotion]:
    """The succeeded rollbacks into the target that are the last word there on one of these
    features: bringing the feature back means reverting them, oldest first."""
    last: dict[int, Promotion] = {}
    for item in succeeded_into(target_id, feature_ids):
        if item.promotion_id != exclude:
            last[item.feature_id] = item.promotion
    undo = {p.pk: p for p in last.values() if p.direction == Direction.ROLLBACK}
    return sorted(undo.values(), key=lambda p: (p.finished_at, p.pk))


def split_rollback(target_id: int, features: Sequence[Feature]) -> str | None:
    """Why these features cannot come back on their own, or None: reverting a rollback brings
    back every feature it rolled back, so they come back together."""
    chosen = {f.pk for f in features}
    for rollback in rollbacks_to_undo(target_id, chosen):
        left = [i.feature.key for i in rollback.items.all() if i.feature_id not in chosen]
        if left:
            keys = ", ".join(sorted(left))
            return (
                f"Rollback #{rollback.pk} took {keys} out of {rollback.target.name} together "
                "with these features; promote them together to bring them back."
            )
    return None


def why_no_rollback(promotion: Promotion) -> str | None:
    """Why `promotion` cannot be rolled back now, or None when it can."""
    number = f"Promotion #{promotion.pk}"
    if promotion.direction == Direction.ROLLBACK:
        return f"{number} is a rollback; promote its features again to bring them back."
    if promotion.status != PromotionStatus.SUCCEEDED:
        status = promotion.get_status_display().lower()
        return f"{number} is {status}; only a succeeded promotion can be rolled back."
    if not promotion.target_head_after or promotion.target_head_after == (
        promotion.target_head_before
    ):
        return f"{number} merged nothing into {promotion.target.name}; there is nothing to undo."
    if (held := holding_rollback(promotion)) is not None:
        if held.status == PromotionStatus.SUCCEEDED:
            return f"{number} was rolled back by #{held.pk}."
        if held.status in RETRYABLE:
            status = held.get_status_display().lower()
            return f"{number} has a rollback, #{held.pk}, that {status}: retry or resolve that one."
        return f"{number} is rolling back by #{held.pk}."
    ids = list(promotion.items.values_list("feature_id", flat=True))
    for item in succeeded_into(promotion.target_id, ids):
        later = item.promotion
        if later.pk != promotion.pk and _ended(later) > _ended(promotion):
            return (
                f"{item.feature.key} came into {promotion.target.name} again with #{later.pk}; "
                f"roll that back first."
            )
    return None


def _ended(promotion: Promotion) -> datetime:
    return promotion.finished_at or promotion.requested_at


def later_touching(promotion: Promotion, repo: storage.Repo, paths: Iterable[str]) -> list[str]:
    """ "#7 (RM-3)" for each succeeded promotion into the target after `promotion` whose
    merges changed one of `paths`: why reverting `promotion` conflicts."""
    wanted = set(paths)
    later = (
        Promotion.objects.filter(
            target_id=promotion.target_id,
            status=PromotionStatus.SUCCEEDED,
            finished_at__gt=promotion.finished_at,
        )
        .filter(~Q(target_head_after="") & ~Q(target_head_before=""))
        .prefetch_related("items__feature")
        .order_by("finished_at", "id")
    )
    out = []
    for other in later:
        if other.target_head_before == other.target_head_after:
            continue
        changed = {
            c.path
            for c in changed_files(repo, other.target_head_before, other.target_head_after, [""])
        }
        if changed & wanted:
            keys = ", ".join(i.feature.key for i in other.items.all())
            out.append(f"#{other.pk} ({keys})" if keys else f"#{other.pk}")
    return out


def may_roll_back(user: AnyUser, target: Instance) -> bool:
    """Release managers who manage the target or may approve into it roll back promotions
    there (docs/rollback.md): undoing a change is a release decision, like approving it."""
    return bool(
        user.is_active
        and user.has_perm("instances.change_promotion")
        and (allows(user, target, Capability.MANAGE) or allows(user, target, Capability.APPROVE))
    )
