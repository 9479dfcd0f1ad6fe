"""The steps of a promotion (docs/design.md, "How a promotion runs"), one function each.

Each step works in the bare repository (no work tree) and ends by recording itself through
`Run.record`, which renews the worker's lease and succeeds only while the worker still holds
the claim. `engine` decides which steps still have to run; a resumed promotion starts after the
last step recorded, so no step merges or deploys twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from branching import workspace
from branching.git import storage
from branching.git.remote import LOCAL_ONLY_PREFIX
from branching.models import Feature
from instances.deployments import runner
from instances.environments.permissions import Capability, allows
from instances.models import (
    Decision,
    Deployment,
    DeploymentKind,
    DeploymentStatus,
    Direction,
    FeaturePresence,
    Instance,
    Promotion,
    PromotionStatus,
    Step,
    TestLevel,
    leases,
)
from instances.promotions import approvals, conflicts, recorded, reverts
from instances.promotions.log import log
from releasemgr.models import AuditEvent


class LostClaim(Exception):
    """Another worker holds the promotion now (our lease expired); stop without touching it."""


class PromotionFailed(Exception):
    """The promotion cannot succeed as it stands; the message is the reason users see."""


class Conflicted(Exception):
    def __init__(
        self,
        feature: Feature,
        target: Instance,
        conflicts: list[dict[str, Any]],
        what: str | None = None,
    ) -> None:
        self.feature, self.conflicts = feature, conflicts
        paths = ", ".join(c["path"] for c in conflicts) or "(no path named)"
        super().__init__(f"{what or feature.key} conflicts with {target.name}: {paths}")


class NeedsApproval(Exception):
    """The merge resolved conflicts with recorded resolutions that the approvals given do not
    cover: the promotion goes back to awaiting approval, with those resolutions to approve."""


class TargetMoved(Exception):
    """The target branch moved under us (someone pushed to the remote): start from the fetch."""


@dataclass
class Run:
    promotion: Promotion
    worker: str
    pause: float = 0.0

    def record(self, step: Step, *, pause: bool = True, **fields: Any) -> None:
        """Complete `step` (and save `fields`) only while we still hold the claim.

        `pause` applies PROMOTION_STEP_PAUSE; never inside a transaction (on SQLite it would
        hold every writer up) nor on a heartbeat.
        """
        running = Promotion.objects.filter(pk=self.promotion.pk, status=PromotionStatus.RUNNING)
        if not leases.renew(running, self.worker, step=step, **fields):
            raise LostClaim()
        self.promotion.step = step
        for name, value in fields.items():
            setattr(self.promotion, name, value)
        if self.pause and pause:
            time.sleep(self.pause)

    def heartbeat(self) -> None:
        self.record(Step(self.promotion.step), pause=False)

    def log(self, message: str, **kwargs: Any) -> None:
        log(self.promotion, message, **kwargs)


def check(run: Run, repo: storage.Repo) -> None:
    promotion = run.promotion
    target = promotion.target
    if storage.branch_head(repo, target.branch) is None:
        raise PromotionFailed(f"{target.name}'s branch “{target.branch}” does not exist.")
    if promotion.direction == Direction.ROLLBACK:
        _check_rollback(promotion, repo)
    elif not allows(promotion.requested_by, target, Capability.PROMOTE):
        raise PromotionFailed(
            f"{promotion.requested_by} may no longer request promotions into {target.name}."
        )
    elif why := reverts.split_rollback(
        target.pk, [i.feature for i in promotion.items.select_related("feature")]
    ):
        raise PromotionFailed(why)
    check_approvals(promotion)
    source = promotion.source
    for item in promotion.items.select_related("feature"):
        commit = item.commit
        if storage.branch_head(repo, item.feature.branch) is None and (
            promotion.direction == Direction.ENTER
        ):
            raise PromotionFailed(
                f"The branch “{item.feature.branch}” of {item.feature.key} is gone."
            )
        if source is not None:
            source_head = storage.branch_head(repo, source.branch)
            if source_head is None or not _contains(promotion, source_head, commit):
                raise PromotionFailed(
                    f"{item.feature.key} is no longer in {source.name} (commit {commit[:10]} "
                    f"is not in “{source.branch}”)."
                )
    run.log("Checked: the features are where they should be, and approvals are given.")
    run.record(Step.CHECKED)


def _check_rollback(promotion: Promotion, repo: storage.Repo) -> None:
    target, original = promotion.target, promotion.rollback_of
    assert original is not None
    if not reverts.may_roll_back(promotion.requested_by, target):
        raise PromotionFailed(
            f"{promotion.requested_by} may no longer roll back promotions in {target.name}."
        )
    done = original.rollbacks.filter(status=PromotionStatus.SUCCEEDED).exclude(pk=promotion.pk)
    if (other := done.first()) is not None:
        raise PromotionFailed(f"Promotion #{original.pk} was rolled back by #{other.pk} already.")
    head = storage.branch_head(repo, target.branch)
    assert head is not None
    if not _contains(promotion, head, original.target_head_after):
        raise PromotionFailed(
            f"“{target.branch}” no longer holds the merges of promotion #{original.pk} "
            f"({original.target_head_after[:10]}); there is nothing to roll back."
        )


def _contains(promotion: Promotion, head: bytes, commit: str) -> bool:
    """Whether `commit` is in the history of `head`, from the worker's long-lived history."""
    context = workspace.context(promotion.target.repository)
    with context.lock:
        return context.history.is_ancestor(storage.object_id(commit), head)


def _temp_name(promotion: Promotion) -> str:
    return f"{LOCAL_ONLY_PREFIX}promotion-{promotion.pk}"


def create_temp_branch(run: Run, repo: storage.Repo) -> None:
    promotion = run.promotion
    head = storage.branch_head(repo, promotion.target.branch)
    assert head is not None
    name = _temp_name(promotion)
    existing = storage.branch_head(repo, name)
    if existing is None:
        storage.create_branch(repo, name, head)
    elif existing != head:
        storage.update_branch(repo, name, head, existing)  # left over from a crashed attempt
    run.log(f"Created {name} from {promotion.target.branch}.", to_commit=storage.hex_id(head))
    run.record(Step.TEMP_BRANCH, temp_branch=name, target_head_before=storage.hex_id(head))


def _author(promotion: Promotion) -> str:
    user = promotion.requested_by
    name = (user.get_full_name() or user.get_username()).replace("<", "").replace(">", "")
    email = (user.email or f"{user.get_username()}@releasemgr.invalid").replace(">", "")
    return f"{name} <{email}>"


def check_approvals(promotion: Promotion) -> None:
    """The approvals given must cover exactly the commits and resolutions about to be merged
    (their digest), not merely exist."""
    target = promotion.target
    if not target.requires_approval:
        return
    missing = approvals.missing_approvals(promotion)
    if missing:
        given = promotion.approvals.filter(decision=Decision.APPROVED).count()
        cover = (
            " The approvals given cover other commits or resolutions than these." if given else ""
        )
        raise PromotionFailed(
            f"{target.name} requires {missing} more approval(s) of exactly what is merged." + cover
        )


def merge_features(run: Run, repo: storage.Repo) -> None:
    promotion = run.promotion
    name = promotion.temp_branch or _temp_name(promotion)
    base = promotion.target_head_before
    head = storage.branch_head(repo, name)
    if head is None or storage.hex_id(head) != base:
        # A crash mid-merge left partial merges on the temporary branch: start them again.
        head = (
            storage.update_branch(repo, name, base, head)
            if head
            else storage.create_branch(repo, name, base)
        )
    check_approvals(promotion)  # again: a resumed run may not have checked
    resolving = _Resolving(repo)
    head = _reverts(run, repo, head, resolving)
    if promotion.direction == Direction.ROLLBACK:
        _merged(run, head, resolving)
        return
    context = workspace.context(promotion.target.repository)
    for item in promotion.items.select_related("feature").order_by("position", "id"):
        feature = item.feature
        with context.lock:
            # One walk answers both "is it in already?" and the merge's own merge bases.
            merger = context.merger
            if merger.relate(head, storage.object_id(item.commit)).b_in_a:
                result = None
            else:
                result = merger.merge_commits(
                    head,
                    storage.object_id(item.commit),
                    ours_label=promotion.target.branch,
                    theirs_label=feature.branch,
                )
        if result is None:
            run.log(f"{feature.key} is already in {promotion.target.branch}; nothing to merge.")
            continue
        tree = result.tree
        if not result.clean:
            tree = _apply_resolutions(run, repo, result, feature, resolving)
        new = storage.commit_files(
            repo,
            parents=[head, item.commit],
            tree=tree,
            message=f"Merge {feature.key} {feature.title} into {promotion.target.branch}\n\n"
            f"Promotion #{promotion.pk} ({promotion.get_direction_display().lower()}).",
            author=_author(promotion),
        )
        storage.update_branch(repo, name, new, head)
        run.log(
            f"Merged {feature.key} ({item.commit[:10]}).",
            from_commit=storage.hex_id(head),
            to_commit=storage.hex_id(new),
        )
        head = new
    _merged(run, head, resolving)


def _merged(run: Run, head: storage.ObjectId, resolving: _Resolving) -> None:
    """End the merge step: replays approved where that is needed, resolutions recorded."""
    _check_replays_approved(run, resolving.auto)
    _record_resolutions(run, resolving)
    run.record(Step.MERGED, merged_head=storage.hex_id(head), auto_resolutions=resolving.auto)


def _reverts(
    run: Run, repo: storage.Repo, head: storage.ObjectId, resolving: _Resolving
) -> storage.ObjectId:
    """A rollback's one revert commit; for any other promotion, the reverts of the rollbacks
    that took its features out of the target (docs/rollback.md), before its merges."""
    promotion = run.promotion
    if promotion.direction == Direction.ROLLBACK:
        original = promotion.rollback_of
        assert original is not None
        keys = ", ".join(i.feature.key for i in promotion.items.select_related("feature"))
        return _revert(
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
    for rollback in reverts.rollbacks_to_undo(promotion.target_id, ids, exclude=promotion.pk):
        keys = ", ".join(i.feature.key for i in rollback.items.select_related("feature"))
        head = _revert(
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


def _revert(
    run: Run,
    repo: storage.Repo,
    head: storage.ObjectId,
    resolving: _Resolving,
    reverted: Promotion,
    *,
    what: str,
    message: str,
    done: str,
) -> storage.ObjectId:
    """Commit on the temporary branch the revert of everything `reverted` merged."""
    promotion = run.promotion
    target = promotion.target
    name = promotion.temp_branch or _temp_name(promotion)
    last = reverted.target_head_after
    subject = reverts.commit_subject(repo, last)
    context = workspace.context(target.repository)
    with context.lock:
        result = reverts.revert(
            context.merger,
            head,
            reverted=last,
            parent=reverted.target_head_before,
            ours_label=target.branch,
            theirs_label=reverts.theirs_label(last, subject),
        )
    tree = result.tree
    if not result.clean:
        first = promotion.items.select_related("feature").first()
        assert first is not None
        try:
            tree = _apply_resolutions(run, repo, result, first.feature, resolving)
        except Conflicted as exc:
            later = reverts.later_touching(reverted, repo, [c["path"] for c in exc.conflicts])
            since = f" (changed since by {', '.join(later)})" if later else ""
            raise Conflicted(first.feature, target, exc.conflicts, what + since) from None
    new = storage.commit_files(
        repo,
        parents=[head],
        tree=tree,
        message=f"{message}\n\nThis reverts {reverted.target_head_before[:10]}..{last[:10]}, "
        f"promotion #{reverted.pk} ({reverted.get_direction_display().lower()}).\n"
        f"Promotion #{promotion.pk} ({promotion.get_direction_display().lower()}).",
        author=_author(promotion),
    )
    storage.update_branch(repo, name, new, head)
    run.log(f"{done}.", from_commit=storage.hex_id(head), to_commit=storage.hex_id(new))
    return new


class _Resolving:
    """What resolving the conflicts of one merge step found, over all its features: the
    paths resolved by a recorded resolution, and the resolutions given here, to record."""

    def __init__(self, repo: storage.Repo) -> None:
        self.read = recorded.reader(repo)
        self.auto: dict[str, dict[str, Any]] = {}
        self.made: list[tuple[Any, bytes]] = []  # (conflict entry, what was written)


def _apply_resolutions(
    run: Run, repo: storage.Repo, result: Any, feature: Feature, resolving: _Resolving
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
    replays: list[tuple[str, recorded.Replayed]] = []
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
            recorded.replay_for(promotion.target.repository, entry, resolving.read)
            if given is None and entry is not None
            else None
        )
        if replayed is None:
            unresolved.append(path)
            continue
        changes[path] = (replayed.content, _mode_of(entry))
        resolving.auto[path] = recorded.auto_entry(replayed, entry, resolving.read)
        replays.append((path, replayed))
    for path, replayed in replays:
        recorded.used(replayed)
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


def _check_replays_approved(run: Run, auto: dict[str, dict[str, Any]]) -> None:
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


def _record_resolutions(run: Run, resolving: _Resolving) -> None:
    """Record the resolutions given in this promotion, for the next time their conflict
    comes back (in another instance, a back promotion, a new request)."""
    promotion = run.promotion
    sides: dict[str, dict[str, Any]] = promotion.resolved_conflicts or {}
    by: dict[str, int] = {p: s["by"] for p, s in sides.items() if isinstance(s.get("by"), int)}
    users = {u.pk: u for u in User.objects.filter(pk__in=by.values())}
    for entry, written in resolving.made:
        user = users.get(by.get(entry.path, 0)) or promotion.requested_by
        row = recorded.record(promotion, entry, resolving.read, written, user)
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
    read = recorded.reader(repo)
    out = []
    for entry in result.entries:
        if entry.path not in paths:
            continue
        blobs = {side: getattr(entry, side) for side in conflicts.SIDES}
        out.append(conflicts.describe(entry.path, kinds.get(entry.path, []), blobs, read))
    known = {c["path"] for c in out}
    out.extend({"path": p, "kinds": kinds.get(p, [])} for p in sorted(paths - known))
    return out


def deploy(run: Run, repo: storage.Repo) -> None:
    """Step 4: validate and/or deploy the delta target-head → merged-head to the target's org.

    Deployments are looked up by (promotion, merged head, kind) before any is created, so a
    resumed step polls the deployment it already started instead of deploying again.
    """
    promotion = run.promotion
    target = promotion.target
    connection = target.org_connection
    if connection is None:
        run.log(f"No org connected to {target.name}: a git-only promotion.")
        run.record(Step.DEPLOYED)
        return
    if promotion.merged_head == promotion.target_head_before:
        run.log("Nothing new to deploy: the target already holds every feature.")
        run.record(Step.DEPLOYED)
        return
    test_level = promotion.test_level or target.test_level

    def deployment(kind: DeploymentKind, validation: Deployment | None = None) -> Deployment:
        existing = (
            promotion.deployments.filter(kind=kind, to_commit=promotion.merged_head)
            .order_by("-id")
            .first()
        )
        if existing is not None:
            if existing.status in (
                DeploymentStatus.FAILED,
                DeploymentStatus.ERRORED,
                DeploymentStatus.CANCELLED,
            ):
                raise PromotionFailed(existing.error_message or f"{existing} {existing.status}.")
            return existing
        return runner.create(
            instance=target,
            connection=connection,
            kind=kind,
            from_commit=promotion.target_head_before,
            to_commit=promotion.merged_head,
            test_level=test_level,
            run_tests=list(promotion.run_tests),
            promotion_id=promotion.pk,
            requested_by_id=promotion.requested_by_id,
            validation=validation,
        )

    try:
        if target.validate_first:
            validation = runner.run(
                deployment(DeploymentKind.VALIDATE), repo, heartbeat=run.heartbeat, log=run.log
            )
            # Salesforce quick-deploys only validations that ran Apex tests.
            kind = (
                DeploymentKind.DEPLOY
                if test_level == TestLevel.NO_TEST_RUN
                else DeploymentKind.QUICK_DEPLOY
            )
            final = runner.run(
                deployment(kind, validation),
                repo,
                heartbeat=run.heartbeat,
                log=run.log,
            )
        else:
            final = runner.run(
                deployment(DeploymentKind.DEPLOY), repo, heartbeat=run.heartbeat, log=run.log
            )
    except runner.DeploymentFailed as exc:
        # The reason first (a coverage failure has no other), then the org's details.
        reason = exc.deployment.failure_reason
        details = "\n".join(line for line in str(exc).splitlines() if line != reason)
        raise PromotionFailed(
            f"The deployment to {target.name}'s org did not succeed"
            + (f": {reason}\n{details}" if reason else f": {details}")
        ) from None
    run.log(
        f"Deployed to {target.name}'s org ({final.sf_deploy_id}).",
        from_commit=promotion.target_head_before,
        to_commit=promotion.merged_head,
    )
    run.record(Step.DEPLOYED)


def move_target(run: Run, repo: storage.Repo) -> None:
    promotion = run.promotion
    target = promotion.target
    before, merged = promotion.target_head_before, promotion.merged_head
    current = storage.branch_head(repo, target.branch)
    if current is not None and storage.hex_id(current) == merged and merged != before:
        run.log(f"{target.branch} is already at {merged[:10]} (moved before a restart).")
    elif merged == before:
        run.log(f"Nothing to merge: {target.branch} already holds every feature.")
    else:
        try:
            workspace.publish(target.repository, repo, target.branch, merged, before)
        except (storage.RefMoved, workspace.RemoteMoved) as exc:
            raise TargetMoved(f"{target.branch} moved while we promoted ({exc}).") from None
        run.log(
            f"Moved {target.branch} from {before[:10]} to {merged[:10]}.",
            from_commit=before,
            to_commit=merged,
        )
    run.record(Step.TARGET_MOVED, target_head_after=merged)


def delete_temp_branch(run: Run, repo: storage.Repo) -> None:
    name = run.promotion.temp_branch or _temp_name(run.promotion)
    if storage.branch_head(repo, name) is not None:
        storage.delete_branch(repo, name)


def record_presence(run: Run) -> None:
    promotion = run.promotion
    now = timezone.now()
    rollback = promotion.direction == Direction.ROLLBACK
    with transaction.atomic():
        for item in promotion.items.select_related("feature"):
            if rollback:
                # Absent again; the feature page says which rollback took it out.
                FeaturePresence.objects.filter(
                    feature=item.feature, instance=promotion.target
                ).delete()
                continue
            FeaturePresence.objects.update_or_create(
                feature=item.feature,
                instance=promotion.target,
                defaults={"commit": item.commit, "promotion": promotion},
            )
        run.record(Step.RECORDED, pause=False)
        Promotion.objects.filter(pk=promotion.pk).update(
            status=PromotionStatus.SUCCEEDED, finished_at=now, lease_until=None
        )
        promotion.status = PromotionStatus.SUCCEEDED
        keys = ", ".join(i.feature.key for i in promotion.items.select_related("feature"))
        if rollback:
            original = promotion.rollback_of
            assert original is not None
            AuditEvent.record(
                promotion.requested_by,
                "rolled back",
                original,
                {"rollback": promotion.pk, "features": keys},
                from_commit=promotion.target_head_before,
                to_commit=promotion.target_head_after,
            )
        run.log(
            f"Succeeded: promotion #{promotion.rollback_of_id} rolled back, {keys} no longer "
            f"in {promotion.target.name}."
            if rollback
            else f"Succeeded: {keys} now in {promotion.target.name}.",
            from_commit=promotion.target_head_before,
            to_commit=promotion.target_head_after,
        )
