"""The promotion engine: DESIGN.md's "How a promotion runs", one recorded step at a time.

A worker first *claims* the promotion (a conditional update under a row lock on the target
instance, so at most one promotion writes to a target branch at a time), then runs the steps
after the last one recorded. Each step ends by recording itself together with a renewed lease;
the record is conditional on the worker still holding the claim. A worker that dies leaves a
lease that expires, and the dispatcher hands the promotion to another worker, which resumes.

Only step 5 touches the target branch, with a compare-and-swap from the head recorded in step 2,
so a failed, conflicted or crashed promotion leaves the target exactly where it was, and a
resumed one never merges into it twice.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from dulwich.objects import ObjectID

from branching import workspace
from branching.git import storage
from branching.git.remote import LOCAL_ONLY_PREFIX
from branching.models import Feature
from instances.deployments import runner
from instances.models import (
    Deployment,
    DeploymentKind,
    DeploymentStatus,
    Direction,
    FeaturePresence,
    Instance,
    LogLevel,
    Promotion,
    PromotionStatus,
    Step,
    TestLevel,
    leases,
)
from instances.promotions import queue
from instances.promotions.rules import log

logger = logging.getLogger(__name__)

MAX_RESTARTS = 3


class LostClaim(Exception):
    """Another worker holds the promotion now (our lease expired); stop without touching it."""


class PromotionFailed(Exception):
    """The promotion cannot succeed as it stands; the message is the reason users see."""


class Conflicted(Exception):
    def __init__(self, feature: Feature, target: Instance, conflicts: list[dict[str, Any]]) -> None:
        self.feature, self.conflicts = feature, conflicts
        paths = ", ".join(c["path"] for c in conflicts) or "(no path named)"
        super().__init__(f"{feature.key} conflicts with {target.name}: {paths}")


class TargetMoved(Exception):
    """The target branch moved under us (someone pushed to the remote): start from the fetch."""


# --------------------------------------------------------------------------- claiming


def claim(promotion_id: int, worker: str) -> Promotion | None:
    """Take the promotion for `worker`, or None when it is not runnable now.

    Runnable: what `queue.next_on` says may run next on its target (the first queued one that
    the target's windows and freezes let through, or a running promotion whose lease lapsed:
    its worker died, so resume it).
    """
    now = timezone.now()
    with transaction.atomic():
        promotion = (
            Promotion.objects.select_for_update().select_related("target").filter(pk=promotion_id)
        ).first()
        if promotion is None or promotion.status not in queue.ACTIVE:
            return None
        # The per-target lock: a row lock on PostgreSQL; SQLite's IMMEDIATE transaction already
        # serialises every writer.
        Instance.objects.select_for_update().filter(pk=promotion.target_id).first()
        if queue.next_on(promotion.target_id, now) != promotion.pk:
            return None
        resuming = promotion.status == PromotionStatus.RUNNING
        previous = promotion.claimed_by
        started_at = promotion.started_at or now
        if not leases.take(
            Promotion.objects.filter(pk=promotion.pk, status__in=queue.ACTIVE),
            worker,
            status=PromotionStatus.RUNNING,
            started_at=started_at,
        ):
            return None
        promotion.refresh_from_db(fields=["status", "claimed_by", "lease_until", "started_at"])
        if resuming:
            log(
                promotion,
                f"Resumed by {worker} after step “{Step(promotion.step).label}” "
                f"({previous or 'a worker'} stopped answering).",
                level=LogLevel.WARNING,
            )
        else:
            log(promotion, f"Started by {worker}.")
    return promotion


# --------------------------------------------------------------------------- running


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


def run_promotion(promotion_id: int, worker: str | None = None) -> str:
    """Claim and run one promotion; returns its final status (or why it did not run)."""
    worker = worker or leases.worker_id()
    promotion = claim(promotion_id, worker)
    if promotion is None:
        return "not runnable now"
    run = Run(promotion, worker, float(getattr(settings, "PROMOTION_STEP_PAUSE", 0)))
    try:
        _execute(run)
    except LostClaim:
        logger.warning("promotion %s: lost the claim to another worker", promotion_id)
        return "lost claim"
    except Conflicted as exc:
        _finish(run, PromotionStatus.CONFLICTED, str(exc), conflicts=exc.conflicts)
    except PromotionFailed as exc:
        _finish(run, PromotionStatus.FAILED, str(exc))
    except Exception as exc:
        logger.exception("promotion %s errored", promotion_id)
        _finish(run, PromotionStatus.ERRORED, f"{exc.__class__.__name__}: {exc}")
    return run.promotion.status


def _execute(run: Run) -> None:
    promotion = run.promotion
    target = promotion.target
    repository = target.repository
    restarts = 0
    with workspace.open_storage(repository) as repo:
        while True:
            try:
                workspace.sync(repository, repo)
                if promotion.step < Step.CHECKED:
                    _check(run, repo)
                if promotion.step < Step.TEMP_BRANCH:
                    _create_temp_branch(run, repo)
                if promotion.step < Step.MERGED:
                    _merge_features(run, repo)
                if promotion.step < Step.DEPLOYED:
                    _deploy(run, repo)
                if promotion.step < Step.TARGET_MOVED:
                    _move_target(run, repo)
                break
            except TargetMoved as exc:
                restarts += 1
                if restarts > MAX_RESTARTS:
                    raise PromotionFailed(
                        f"{target.name}'s branch kept moving while we promoted; try again."
                    ) from None
                run.log(f"{exc} Starting again from the fetch.", level=LogLevel.WARNING)
                _delete_temp_branch(run, repo)
                run.record(Step.NONE, temp_branch="", merged_head="", target_head_before="")
        if promotion.step < Step.CLEANED:
            _delete_temp_branch(run, repo)
            run.record(Step.CLEANED)
        if promotion.step < Step.RECORDED:
            _record_presence(run)


def _check(run: Run, repo: storage.Repo) -> None:
    promotion = run.promotion
    target = promotion.target
    if storage.branch_head(repo, target.branch) is None:
        raise PromotionFailed(f"{target.name}'s branch “{target.branch}” does not exist.")
    if (
        target.requires_approval
        and not promotion.approvals.filter(decision="approved")
        .exclude(user_id=promotion.requested_by_id)
        .exists()
    ):
        raise PromotionFailed(f"{target.name} requires an approval that was not given.")
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


def _contains(promotion: Promotion, head: bytes, commit: str) -> bool:
    """Whether `commit` is in the history of `head`, from the worker's long-lived history."""
    context = workspace.context(promotion.target.repository)
    with context.lock:
        return context.history.is_ancestor(storage.object_id(commit), head)


def _temp_name(promotion: Promotion) -> str:
    return f"{LOCAL_ONLY_PREFIX}promotion-{promotion.pk}"


def _create_temp_branch(run: Run, repo: storage.Repo) -> None:
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


def _merge_features(run: Run, repo: storage.Repo) -> None:
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
            tree = _apply_resolutions(run, repo, result, feature)
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
    run.record(Step.MERGED, merged_head=storage.hex_id(head))


def _apply_resolutions(run: Run, repo: storage.Repo, result: Any, feature: Feature) -> bytes:
    """Write the stored resolutions over the conflicted paths, or raise Conflicted."""
    resolutions: dict[str, str] = run.promotion.resolutions or {}
    unresolved = [p for p in result.conflicts if p not in resolutions]
    if unresolved or result.unclean_without_paths:
        raise Conflicted(
            feature, run.promotion.target, _describe_conflicts(repo, result, set(unresolved))
        )
    changes = {path: resolutions[path].encode() for path in result.conflicts}
    tree = storage.update_tree(repo, result.tree, changes)
    run.log(f"Applied the stored resolutions for {', '.join(result.conflicts)}.")
    return tree


def _describe_conflicts(repo: storage.Repo, result: Any, paths: set[str]) -> list[dict[str, Any]]:
    kinds = result.kinds()
    out = []
    for entry in result.entries:
        if entry.path not in paths:
            continue
        out.append(
            {
                "path": entry.path,
                "kinds": kinds.get(entry.path, []),
                "base": _blob_text(repo, entry.base),
                "ours": _blob_text(repo, entry.ours),
                "theirs": _blob_text(repo, entry.theirs),
                "result": _blob_text(repo, entry.result),
            }
        )
    known = {c["path"] for c in out}
    out.extend({"path": p, "kinds": kinds.get(p, [])} for p in sorted(paths - known))
    return out


MAX_SHOWN_BYTES = 200_000


def _blob_text(repo: storage.Repo, stage: tuple[int, bytes] | None) -> str | None:
    if stage is None:
        return None
    data = repo.object_store[ObjectID(stage[1])].as_raw_string()
    if b"\0" in data[:8000]:
        return "(binary file)"
    if len(data) > MAX_SHOWN_BYTES:
        return data[:MAX_SHOWN_BYTES].decode("utf-8", "replace") + "\n… (cut)"
    return data.decode("utf-8", "replace")


def _deploy(run: Run, repo: storage.Repo) -> None:
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
        raise PromotionFailed(
            f"The deployment to {target.name}'s org did not succeed: {exc}"
        ) from None
    run.log(
        f"Deployed to {target.name}'s org ({final.sf_deploy_id}).",
        from_commit=promotion.target_head_before,
        to_commit=promotion.merged_head,
    )
    run.record(Step.DEPLOYED)


def _move_target(run: Run, repo: storage.Repo) -> None:
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


def _delete_temp_branch(run: Run, repo: storage.Repo) -> None:
    name = run.promotion.temp_branch or _temp_name(run.promotion)
    if storage.branch_head(repo, name) is not None:
        storage.delete_branch(repo, name)


def _record_presence(run: Run) -> None:
    promotion = run.promotion
    now = timezone.now()
    with transaction.atomic():
        for item in promotion.items.select_related("feature"):
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
        run.log(
            f"Succeeded: {keys} now in {promotion.target.name}.",
            from_commit=promotion.target_head_before,
            to_commit=promotion.target_head_after,
        )
    _after_finish(promotion)


def _finish(run: Run, status: PromotionStatus, reason: str, **fields: Any) -> None:
    """End a promotion that did not succeed: the target branch was never moved.

    The status and its log line are written together (whoever sees the status can read the
    reason), and only while this worker still holds the claim: a worker that lost it leaves
    the promotion, and its temporary branch, to the one that resumed it.
    """
    promotion = run.promotion
    with transaction.atomic():
        updated = Promotion.objects.filter(
            pk=promotion.pk, status=PromotionStatus.RUNNING, claimed_by=run.worker
        ).update(
            status=status,
            failure_reason=reason,
            finished_at=timezone.now(),
            lease_until=None,
            **fields,
        )
        if not updated:
            return
        promotion.status = status
        run.log(f"{status.label}: {reason}", level=LogLevel.ERROR)
    try:
        with workspace.open_storage(promotion.target.repository) as repo:
            _delete_temp_branch(run, repo)
    except Exception:
        logger.exception("promotion %s: could not delete its temporary branch", promotion.pk)
    _after_finish(promotion)


def _after_finish(promotion: Promotion) -> None:
    from instances.promotions.tasks import dispatch_target

    transaction.on_commit(lambda: dispatch_target(promotion.target_id))
