"""Creating a missing environment branch from its parent's branch (or the main branch).

Creating is not a move (docs/design.md, invariant 7): the branch must not exist yet, and the
compare-and-swap against "no branch" refuses it if it appeared meanwhile. With a remote the
work is a job: fetch, then push, never inside a request.
"""

from __future__ import annotations

from django.contrib.auth.models import User

from branching import workspace
from branching.git import storage
from branching.git.errors import RepositoryDamaged
from branching.git.remote import RemoteError
from instances.models import Instance
from releasemgr import jobs
from releasemgr.models import AuditEvent, Job


class BranchNotCreated(Exception):
    """The branch could not be created; the message says why."""


def branch_origin(instance: Instance) -> str:
    """Where a missing environment branch is cut from: its parent's branch, else the main one."""
    return instance.parent.branch if instance.parent else instance.repository.main_branch


def create_environment_branch(instance: Instance, user: User) -> str:
    """Create the instance's branch at its origin's head; returns what happened, in words."""
    origin = branch_origin(instance)
    try:
        with workspace.open_storage(instance.repository) as repo:
            workspace.sync(instance.repository, repo)
            head = storage.branch_head(repo, origin)
            if head is None:
                raise BranchNotCreated(
                    f"There is no branch “{origin}” to cut “{instance.branch}” from."
                )
            workspace.publish(instance.repository, repo, instance.branch, head, expected_old=None)
    except (storage.RefError, RemoteError, RepositoryDamaged) as exc:
        raise BranchNotCreated(f"Could not create “{instance.branch}”: {exc}") from None
    AuditEvent.record(
        user,
        "branch created",
        instance,
        {"branch": instance.branch, "from": origin},
        to_commit=storage.hex_id(head),
    )
    return f"Created “{instance.branch}” from “{origin}”."


def queue_create(instance: Instance, user: User) -> Job:
    from instances.environments.tasks import create_branch_job

    return jobs.enqueue(
        create_branch_job,
        title=f"Create {instance.branch} for {instance.name}",
        user=user,
        params={"instance": instance.pk},
    )


def run_create_job(job: Job) -> tuple[str, str]:
    instance = Instance.objects.select_related("repository", "parent").filter(
        pk=job.params["instance"]
    )
    found = instance.first()
    if found is None or job.requested_by is None:
        raise jobs.JobFailed("The instance or the requester is gone.")
    return create_environment_branch(found, job.requested_by), found.get_absolute_url()
