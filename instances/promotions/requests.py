"""Requesting a promotion through a worker: the fetch, the dry run and the request, as a job.

A dry run (`dry_run`) merges every feature onto the target's head in memory, objects only and
no ref moved (seconds on a deep history), and with a remote the request fetches first: neither
belongs in a web request. The request page and the
API queue a job instead (`queue_request`), and follow it: the page live, the API by polling
`/api/v1/jobs/<id>`. The worker (`run_request_job`) fetches, dry-runs unless asked to queue
anyway, and requests the promotion when the dry run is clean (or only answers, for a dry run
alone). Everything is checked again in the worker, as of then: who may promote into the target,
where the features are.

Who may follow the job: its requester, and whoever may see its target (`get_request_job_for`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.http import Http404, HttpRequest

from branching import workspace
from branching.git import storage
from branching.git.errors import RepositoryDamaged
from branching.git.merge import MergeResult
from branching.git.remote import RemoteError
from branching.models import Collection, Feature
from instances.environments.permissions import Capability, allows, visible_instances
from instances.models import Instance, PromotionStatus
from instances.promotions import recorded, reverts
from instances.promotions.errors import PromotionError
from instances.promotions.routing import Route, feature_commits, route_to
from instances.promotions.rules import request_promotion
from releasemgr import jobs
from releasemgr.ids import parse_id
from releasemgr.models import Job

KIND = "promotion request"
REQUEST_ERRORS = (PromotionError, RemoteError, RepositoryDamaged)


def queue_request(
    *,
    features: Sequence[Feature],
    target: Instance,
    user: User,
    collection: Collection | None = None,
    test_level: str = "",
    run_tests: Sequence[str] = (),
    queue_anyway: bool = False,
    only_dry_run: bool = False,
) -> Job:
    """Record the request as a job for a worker; the caller follows it."""
    from instances.promotions.tasks import promotion_request_job

    keys = [f.key for f in features]
    what = "Dry run" if only_dry_run else "Request promotion"
    return jobs.enqueue(
        promotion_request_job,
        title=f"{what}: {', '.join(keys)} into {target.name}",
        user=user,
        params={
            "kind": KIND,
            "features": keys,
            "target": target.pk,
            "collection": collection.pk if collection is not None else None,
            "test_level": test_level,
            "run_tests": list(run_tests),
            "queue_anyway": queue_anyway,
            "only_dry_run": only_dry_run,
        },
    )


@dataclass(frozen=True)
class DryRun:
    conflicts: dict[str, list[str]]  # feature key → conflicted paths
    # path → what a recorded resolution replayed there (`recorded.auto_entry`), when clean
    replays: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not self.conflicts


def dry_run(features: Sequence[Feature], target: Instance, route: Route) -> DryRun:
    """Merge in memory (objects only, no ref moves) to tell the requester about conflicts.

    As the merge step does, the rollbacks that took these features out of the target are
    reverted first (docs/rollback.md), and the features are merged on top: a conflict in
    bringing them back is reported under "RM-1 (rolled back by #7)", and those features'
    merges, which would start from the revert, are not tried.
    """
    repository = target.repository
    conflicts: dict[str, list[str]] = {}
    replays: dict[str, dict[str, Any]] = {}
    undo = [
        (rollback, [i.feature.key for i in rollback.items.select_related("feature")])
        for rollback in reverts.rollbacks_to_undo(target.pk, [f.pk for f in features])
    ]
    unreverted: set[str] = set()  # features whose rollback's revert conflicts: not merged
    context = workspace.context(repository)
    with workspace.open_storage(repository) as repo, context.lock:
        head = storage.branch_head(repo, target.branch)
        if head is None:
            raise PromotionError(f"{target.name}'s branch “{target.branch}” does not exist.")
        merger = context.merger  # warm from earlier dry runs and merges in this process

        def settle(result: MergeResult, key: str) -> bytes | None:
            """The merged tree, with recorded resolutions replayed; None (and the conflict
            noted under `key`) when something is left to resolve."""
            if result.clean:
                return result.tree
            # A conflict whose recorded resolution replays is no conflict to report.
            changes = recorded.replay_all(repository, result, recorded.reader(repo), replays)
            if changes is None:
                conflicts[key] = list(result.conflicts) or ["(a conflict git names no path for)"]
                return None
            return storage.update_tree(repo, result.tree, changes)

        for rollback, keys in undo:
            reverted = reverts.revert_promotion(merger, repo, head, rollback, target.branch)
            tree = settle(reverted, f"{', '.join(keys)} (rolled back by #{rollback.pk})")
            if tree is None:
                unreverted.update(keys)  # what their merges would meet depends on the revert
                continue
            head = storage.commit_files(
                repo,
                parents=[head],
                tree=tree,
                message=f"Dry run: revert rollback #{rollback.pk}",
                author=storage.DEFAULT_COMMITTER,
            )
        for feature, commit in zip(features, feature_commits(features, route, repo), strict=True):
            if feature.key in unreverted:
                continue
            theirs = storage.object_id(commit)
            if merger.relate(head, theirs).b_in_a:
                continue
            result = merger.merge_commits(
                head, theirs, ours_label=target.branch, theirs_label=feature.branch
            )
            tree = settle(result, feature.key)
            if tree is None:
                continue
            head = storage.commit_files(
                repo,
                parents=[head, commit],
                tree=tree,
                message=f"Dry run: merge {feature.key}",
                author=storage.DEFAULT_COMMITTER,
            )
    return DryRun(conflicts, {} if conflicts else replays)


def run_request_job(job: Job) -> tuple[str, str]:
    params = job.params
    user = job.requested_by
    target = (
        Instance.objects.select_related("repository", "parent").filter(pk=params["target"]).first()
    )
    if target is None or user is None:
        raise jobs.JobFailed("The target instance or the requester is gone.")
    if not allows(user, target, Capability.PROMOTE):
        raise jobs.JobFailed(f"{user} may not request promotions into {target.name}.")
    found = {
        f.key: f
        for f in Feature.objects.filter(key__in=params["features"]).select_related("repository")
    }
    if missing := [k for k in params["features"] if k not in found]:
        raise jobs.JobFailed(f"No feature {', '.join(missing)} any more.")
    features = [found[k] for k in params["features"]]
    route = route_to(features, target)
    job.result = {
        "direction": route.direction,
        "source": route.source.pk if route.source is not None else None,
        "features": params["features"],
    }
    replays: dict[str, dict[str, Any]] = {}
    if not params["queue_anyway"]:
        with workspace.open_storage(target.repository) as repo:
            workspace.sync(target.repository, repo)  # the dry run sees what the remote holds
        preview = dry_run(features, target, route)
        conflicts, replays = preview.conflicts, preview.replays
        job.result.update(clean=not conflicts, conflicts=conflicts, replayed=sorted(replays))
        if conflicts:
            listed = "; ".join(f"{k}: {', '.join(paths)}" for k, paths in conflicts.items())
            return (
                f"The dry run found conflicts with what {target.name} holds: {listed}. Change "
                "the features or the target, or queue it anyway and resolve them on the "
                "promotion.",
                "",
            )
        if params["only_dry_run"]:
            resolved = (
                f" (recorded resolutions resolve {', '.join(sorted(replays))})" if replays else ""
            )
            return f"The dry run is clean: {target.name} takes every feature{resolved}.", ""
    collection = Collection.objects.filter(pk=params["collection"] or 0).first()
    promotion = request_promotion(
        features=features,
        target=target,
        user=user,
        collection=collection,
        test_level=params["test_level"],
        run_tests=params["run_tests"],
        replays=replays,
    )
    job.result["promotion"] = promotion.pk
    waits = promotion.status == PromotionStatus.AWAITING_APPROVAL
    return (
        f"Promotion #{promotion.pk} requested; "
        + ("it waits for approval." if waits else "it is queued."),
        promotion.get_absolute_url(),
    )


def get_request_job_for(request: HttpRequest, pk: int | str) -> Job:
    """A promotion request job its requester, or anyone who may see its target, may follow;
    to anyone else (and for any other job), a 404."""
    job = (
        Job.objects.select_related("requested_by").filter(pk=job_id).first()
        if (job_id := parse_id(pk)) is not None
        else None
    )
    if job is None or job.params.get("kind") != KIND:
        raise Http404(f"No dry run with id {pk}.")
    user = request.user
    if job.requested_by_id != user.pk and not (
        visible_instances(user).filter(pk=job.params.get("target") or 0).exists()
    ):
        raise Http404(f"No dry run with id {pk}.")
    return job


def job_form_data(job: Job) -> dict[str, Any]:
    """The request form's fields as the job was asked for (to show the form again)."""
    params = job.params
    return {
        "features": params["features"],
        "target": params["target"],
        "collection": params["collection"] or "",
        "test_level": params["test_level"],
        "run_tests": ", ".join(params["run_tests"]),
    }
