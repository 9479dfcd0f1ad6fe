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

from branching import workspace
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
from instances.promotions.recorded import Resolving, apply_resolutions
from instances.promotions.running import Conflicted, Run, author, temp_name

# A rollback holds its promotion unless it was cancelled or rejected: nobody may ask for
# another (a conflicted or failed one is resolved, retried or cancelled, never doubled by a
# second).
_RELEASED = (PromotionStatus.CANCELLED, PromotionStatus.REJECTED)


def revert_promotion(
    merger: Merger, repo: storage.Repo, head: bytes, reverted: Promotion, branch: str
) -> MergeResult:
    """Revert everything `reverted` merged on top of `head` (the branch `branch`'s), as
    `git revert -m 1` does for a merge and labelled as it labels it: a three-way merge of trees
    with `reverted`'s result as the base and what it started from as theirs. What the merge
    step commits and the dry run previews."""
    last = reverted.target_head_after
    return merger.merge_trees(
        merger.node(storage.object_id(last)).tree,
        merger.node(head).tree,
        merger.node(storage.object_id(reverted.target_head_before)).tree,
        ours_label=branch,
        theirs_label=theirs_label(last, commit_subject(repo, last)),
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
            what = {
                PromotionStatus.CONFLICTED: "resolve, retry or cancel",
                PromotionStatus.FAILED: "retry or cancel",
            }.get(PromotionStatus(held.status), "retry")
            return f"{number} has a rollback, #{held.pk}, that {status}: {what} that one."
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


# --------------------------------------------------------------------------- in the merge step


def commit_reverts(
    run: Run, repo: storage.Repo, head: storage.ObjectId, resolving: Resolving
) -> storage.ObjectId:
    """A rollback's one revert commit; for any other promotion, the reverts of the rollbacks
    that took its features out of the target (docs/rollback.md), before its merges."""
    promotion = run.promotion
    if promotion.direction == Direction.ROLLBACK:
        original = promotion.rollback_of
        assert original is not None
        keys = ", ".join(i.feature.key for i in promotion.items.select_related("feature"))
        return _commit_revert(
            run,
            repo,
            head,
            resolving,
            original,
            what=f"Rolling back #{original.pk}",
            message=f"Roll back promotion #{original.pk} ({keys}) in {promotion.target.branch}",
            done=f"Reverted the merges of promotion #{original.pk}",
        )
    ids = list(promotion.items.values_list("feature_id", flat=True))
    for rollback in rollbacks_to_undo(promotion.target_id, ids, exclude=promotion.pk):
        keys = ", ".join(i.feature.key for i in rollback.items.select_related("feature"))
        head = _commit_revert(
            run,
            repo,
            head,
            resolving,
            rollback,
            what=f"Bringing back {keys} (rolled back by #{rollback.pk})",
            message=f"Revert rollback #{rollback.pk}: bring {keys} back into "
            f"{promotion.target.branch}",
            done=f"Reverted rollback #{rollback.pk}: {keys} came back",
        )
    return head


def _commit_revert(
    run: Run,
    repo: storage.Repo,
    head: storage.ObjectId,
    resolving: Resolving,
    reverted: Promotion,
    *,
    what: str,
    message: str,
    done: str,
) -> storage.ObjectId:
    """Commit on the temporary branch the revert of everything `reverted` merged."""
    promotion = run.promotion
    target = promotion.target
    name = promotion.temp_branch or temp_name(promotion)
    context = workspace.context(target.repository)
    with context.lock:
        result = revert_promotion(context.merger, repo, head, reverted, target.branch)
    tree = result.tree
    if not result.clean:
        first = promotion.items.select_related("feature").first()
        assert first is not None
        try:
            tree = apply_resolutions(run, repo, result, first.feature, resolving)
        except Conflicted as exc:
            later = later_touching(reverted, repo, [c["path"] for c in exc.conflicts])
            since = f" (changed since by {', '.join(later)})" if later else ""
            raise Conflicted(first.feature, target, exc.conflicts, what + since) from None
    new = storage.commit_files(
        repo,
        parents=[head],
        tree=tree,
        message=f"{message}\n\nThis reverts "
        f"{reverted.target_head_before[:10]}..{reverted.target_head_after[:10]}, "
        f"promotion #{reverted.pk} ({reverted.get_direction_display().lower()}).\n"
        f"Promotion #{promotion.pk} ({promotion.get_direction_display().lower()}).",
        author=author(promotion),
    )
    storage.update_branch(repo, name, new, head)
    run.log(f"{done}.", from_commit=storage.hex_id(head), to_commit=storage.hex_id(new))
    return new
