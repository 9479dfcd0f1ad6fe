"""Standalone deployments: redeploy a commit (or a delta) to an instance's org, outside any
promotion.

An approval-gated instance only takes commits its branch already holds: those went through
the instance's approvals as promotions, so a redeploy ships nothing unreviewed. Anything else
must be promoted (docs/security.md). Resolving the revisions needs the repository's storage,
fetched first when there is a remote, so with a remote the request is a job.

A deployment into a closed instance (a freeze, a denied window, outside its allowed windows:
`instances.environments.windows`) is refused with the reason promotions into it wait with,
unless a release manager who manages the instance gives an emergency override with a written
justification: recorded in the audit trail and the deployment's log, and notified, as a
promotion's override is. A validation changes nothing in the org and is never held.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django_q.tasks import async_task

from branching import workspace
from branching.git import storage
from branching.git.errors import RepositoryDamaged
from branching.git.remote import RemoteError
from branching.git.revisions import BadRevision, resolve_commit
from instances.deployments import runner
from instances.environments import windows
from instances.models import Deployment, DeploymentKind, Instance
from releasemgr import jobs
from releasemgr.models import AuditEvent, Job

logger = logging.getLogger(__name__)


class DeployRefused(Exception):
    """The deployment cannot be started as asked; the message says why."""


def check_window(instance: Instance, data: dict[str, Any], user: User) -> str:
    """The closure an override lets this deployment through ("" when the instance is open, or
    for a validation); DeployRefused when it is closed and there is no valid override."""
    if data["kind"] == DeploymentKind.VALIDATE:
        return ""
    closure = windows.closure_of(instance)
    if closure is None:
        return ""
    justification = data.get("override_justification", "")
    if not justification.strip():
        raise DeployRefused(
            f"{instance.name} is closed. {closure.text} A release manager who manages it can "
            "deploy anyway with an emergency override and a written justification."
        )
    try:
        windows.override_justification(user, instance, justification)
    except windows.OverrideError as exc:
        raise DeployRefused(f"{instance.name} is closed. {closure.text} {exc}") from None
    return closure.text


def request_deployment(instance: Instance, data: dict[str, Any], user: User) -> Deployment:
    """Resolve the revisions, check the approval rule and the windows, record the deployment
    and queue it."""
    from instances.deployments.tasks import run_deployment

    connection = instance.org_connection
    if connection is None:
        raise DeployRefused(f"{instance.name} has no org connection to deploy to.")
    closed = check_window(instance, data, user)
    try:
        with workspace.open_storage(instance.repository) as repo:
            workspace.sync(instance.repository, repo)
            to_commit = resolve_commit(repo, data["revision"]).decode()
            from_commit = (
                resolve_commit(repo, data["from_revision"]).decode()
                if data["from_revision"]
                else ""
            )
            if instance.requires_approval:
                _check_reviewed(repo, instance, to_commit)
    except BadRevision as exc:
        raise DeployRefused(str(exc)) from None
    except (RemoteError, RepositoryDamaged) as exc:
        raise DeployRefused(f"Could not reach the git remote: {exc}") from None
    with transaction.atomic():
        deployment = runner.create(
            instance=instance,
            connection=connection,
            kind=DeploymentKind(data["kind"]),
            from_commit=from_commit,
            to_commit=to_commit,
            test_level=data["test_level"],
            run_tests=data["run_tests"],
            requested_by_id=user.pk,
        )
        AuditEvent.record(
            user,
            "deployment requested",
            instance,
            {"deployment": deployment.pk, "kind": deployment.kind},
            from_commit=from_commit,
            to_commit=to_commit,
        )
        if closed:
            _record_override(deployment, user, data["override_justification"].strip(), closed)
        transaction.on_commit(
            lambda: async_task(
                run_deployment, deployment.pk, task_name=f"deployment-{deployment.pk}"
            )
        )
    return deployment


def _record_override(deployment: Deployment, user: User, justification: str, closed: str) -> None:
    """Who pushed the deployment through the closed instance, when and why: the audit trail
    (which notifies the instance's subscribers), the deployment's own log, the server log."""
    AuditEvent.record(
        user,
        windows.OVERRIDE_ACTION,
        deployment.instance,
        {"deployment": deployment.pk, "justification": justification, "closed": closed},
    )
    runner.append_log(
        deployment,
        f"Emergency override by {user}: {justification} (the instance was closed: {closed})",
    )
    logger.warning(
        "emergency override of deployment %s into %s by %s: %s",
        deployment.pk,
        deployment.instance.name,
        user,
        justification,
    )


def _check_reviewed(repo: storage.Repo, instance: Instance, commit: str) -> None:
    head = storage.branch_head(repo, instance.branch)
    if head is None or not storage.is_ancestor(repo, commit, head):
        raise DeployRefused(
            f"{instance.name} requires approval: a standalone deployment may only redeploy a "
            f"commit its branch “{instance.branch}” already holds, and {commit[:10]} is not on "
            "it. Promote the change to have it approved."
        )


def queue_deployment(instance: Instance, data: dict[str, Any], user: User) -> Job:
    from instances.deployments.tasks import standalone_deploy_job

    return jobs.enqueue(
        standalone_deploy_job,
        title=f"Deploy {data['revision']} to {instance.name}",
        user=user,
        params={"instance": instance.pk, "data": data},
    )


def run_deploy_job(job: Job) -> tuple[str, str]:
    instance = Instance.objects.select_related("repository").filter(pk=job.params["instance"])
    found = instance.first()
    if found is None or job.requested_by is None:
        raise jobs.JobFailed("The instance or the requester is gone.")
    deployment = request_deployment(found, job.params["data"], job.requested_by)
    job.result = {"deployment": deployment.pk}
    return f"{deployment} is queued.", deployment.get_absolute_url()
