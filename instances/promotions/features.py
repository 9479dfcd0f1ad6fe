"""Starting a feature from an instance: the rules only the environment side knows (no feature
branch is an instance's branch), the audit record, and the job for remote repositories."""

from __future__ import annotations

from django.contrib.auth.models import User

from branching.features import FeatureError, start_feature
from branching.git.errors import RepositoryDamaged
from branching.git.remote import RemoteError
from branching.models import Feature, Repository
from instances.models import Instance
from releasemgr import jobs
from releasemgr.models import AuditEvent, Job


def environment_branches(repository: Repository) -> dict[str, str]:
    """Every instance branch of the repository's git storage, with whose it is."""
    instances = Instance.objects.filter(storage_key=repository.storage_key).order_by("name")
    return {i.branch: f"the branch of the instance {i.name}" for i in instances}


def start_from_instance(
    instance: Instance, *, key: str, title: str, owner: User, branch: str = ""
) -> Feature:
    """Start (or, with `branch`, attach) a feature entering the pipeline at `instance`."""
    feature = start_feature(
        instance.repository,
        key=key,
        title=title,
        owner=owner,
        started_from_id=instance.pk,
        branch=branch,
        attach=bool(branch),
        reserved=environment_branches(instance.repository),
    )
    AuditEvent.record(
        owner,
        "attached" if branch else "started",
        feature,
        {"branch": feature.branch, "started from": instance.name},
        to_commit=feature.base_commit,
    )
    return feature


def queue_start(instance: Instance, *, key: str, title: str, owner: User, branch: str) -> Job:
    """The same, by a worker: the repository has a remote, and a request never waits on one."""
    from instances.promotions.tasks import start_feature_job

    return jobs.enqueue(
        start_feature_job,
        title=f"Start feature {key}" if not branch else f"Attach {branch} as {key}",
        user=owner,
        params={"instance": instance.pk, "key": key, "title": title, "branch": branch},
    )


def run_start_job(job: Job) -> tuple[str, str]:
    params = job.params
    instance = Instance.objects.select_related("repository").filter(pk=params["instance"]).first()
    if instance is None or job.requested_by is None:
        raise jobs.JobFailed("The instance or the requester is gone.")
    try:
        feature = start_from_instance(
            instance,
            key=params["key"],
            title=params["title"],
            owner=job.requested_by,
            branch=params["branch"],
        )
    except RemoteError as exc:
        raise jobs.JobFailed(f"Could not reach the git remote: {exc}") from None
    job.result = {"feature": feature.key}
    return (
        f"Feature {feature.key} started on branch “{feature.branch}”.",
        feature.get_absolute_url(),
    )


START_ERRORS = (FeatureError, RemoteError, RepositoryDamaged)
