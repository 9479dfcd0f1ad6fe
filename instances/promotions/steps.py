"""The steps of a promotion (docs/design.md, "How a promotion runs"), one function each.

Each step works in the bare repository (no work tree) and ends by recording itself through
`Run.record` (`running`), which renews the worker's lease and succeeds only while the worker
still holds the claim. `engine` decides which steps still have to run; a resumed promotion
starts after the last step recorded, so no step merges or deploys twice. The merge step's
conflicts are resolved by `recorded` (given and recorded resolutions), its reverts committed by
`reverts`.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from branching import workspace
from branching.git import storage
from instances.deployments import runner
from instances.environments.permissions import Capability, allows
from instances.models import (
    Decision,
    Deployment,
    DeploymentKind,
    DeploymentStatus,
    Direction,
    FeaturePresence,
    Promotion,
    PromotionStatus,
    Step,
    TestLevel,
)
from instances.promotions import approvals, recorded, reverts
from instances.promotions.running import (
    PromotionFailed,
    Run,
    TargetMoved,
    author,
    temp_name,
)
from releasemgr.models import AuditEvent


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


def create_temp_branch(run: Run, repo: storage.Repo) -> None:
    promotion = run.promotion
    head = storage.branch_head(repo, promotion.target.branch)
    assert head is not None
    name = temp_name(promotion)
    existing = storage.branch_head(repo, name)
    if existing is None:
        storage.create_branch(repo, name, head)
    elif existing != head:
        storage.update_branch(repo, name, head, existing)  # left over from a crashed attempt
    run.log(f"Created {name} from {promotion.target.branch}.", to_commit=storage.hex_id(head))
    run.record(Step.TEMP_BRANCH, temp_branch=name, target_head_before=storage.hex_id(head))


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
    name = promotion.temp_branch or temp_name(promotion)
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
    resolving = recorded.Resolving(repo)
    head = reverts.commit_reverts(run, repo, head, resolving)
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
            tree = recorded.apply_resolutions(run, repo, result, feature, resolving)
        new = storage.commit_files(
            repo,
            parents=[head, item.commit],
            tree=tree,
            message=f"Merge {feature.key} {feature.title} into {promotion.target.branch}\n\n"
            f"Promotion #{promotion.pk} ({promotion.get_direction_display().lower()}).",
            author=author(promotion),
        )
        storage.update_branch(repo, name, new, head)
        run.log(
            f"Merged {feature.key} ({item.commit[:10]}).",
            from_commit=storage.hex_id(head),
            to_commit=storage.hex_id(new),
        )
        head = new
    _merged(run, head, resolving)


def _merged(run: Run, head: storage.ObjectId, resolving: recorded.Resolving) -> None:
    """End the merge step: replays approved where that is needed, resolutions recorded."""
    recorded.check_replays_approved(run, resolving.auto)
    recorded.record_resolutions(run, resolving)
    run.record(Step.MERGED, merged_head=storage.hex_id(head), auto_resolutions=resolving.auto)


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
    name = run.promotion.temp_branch or temp_name(run.promotion)
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
