"""Deployment tasks for the django-q2 cluster: run a standalone deployment, cancel one."""

from __future__ import annotations

from enum import StrEnum

from django.conf import settings
from django.utils import timezone

from branching import workspace
from instances import salesforce as sf
from instances.deployments import runner
from instances.models import DEPLOYMENT_TERMINAL, Deployment, DeploymentStatus, leases


def standalone_deploy_job(job_id: int) -> str:
    """Resolve a standalone deployment's revisions on a repository with a remote (a job)."""
    from instances.deployments import standalone
    from releasemgr import jobs

    return jobs.run(job_id, standalone.run_deploy_job, (standalone.DeployRefused,))


class CancelRequest(StrEnum):
    REQUESTED = "cancel requested"  # the org accepted; the polling run sees the deployment end
    NOTHING_TO_CANCEL = "nothing to cancel"  # finished already, or never reached the org
    FAILED = "failed"  # the org refused or could not be reached; the reason is stored


def run_deployment(deployment_id: int) -> DeploymentStatus | leases.Outcome:
    """Run a standalone deployment (a redeploy outside any promotion), once."""
    worker = leases.worker_id()
    standalone = Deployment.objects.filter(pk=deployment_id, promotion__isnull=True)
    if not leases.take(standalone.exclude(status__in=DEPLOYMENT_TERMINAL), worker):
        return leases.Outcome.NOT_RUNNABLE
    deployment = Deployment.objects.select_related(
        "instance__repository", "org_connection", "validation"
    ).get(pk=deployment_id)

    def heartbeat() -> None:
        leases.renew(standalone, worker)

    try:
        with workspace.open_storage(deployment.instance.repository) as repo:
            workspace.sync(deployment.instance.repository, repo)
            runner.run(deployment, repo, heartbeat=heartbeat)
    except runner.DeploymentFailed:
        pass
    except Exception as exc:  # an unexpected error still ends the deployment, with its reason
        Deployment.objects.filter(pk=deployment_id).update(
            status=DeploymentStatus.ERRORED,
            error_message=f"{exc.__class__.__name__}: {exc}",
            finished_at=timezone.now(),
        )
    deployment.refresh_from_db()
    return DeploymentStatus(deployment.status)


def cancel_deployment(deployment_id: int, user_id: int | None = None) -> CancelRequest:
    """Ask the org to cancel a running deployment; the run that polls it sees it end."""
    deployment = Deployment.objects.select_related("org_connection").get(pk=deployment_id)
    if deployment.is_terminal or not deployment.sf_deploy_id:
        return CancelRequest.NOTHING_TO_CANCEL
    try:
        org = sf.connect(
            deployment.org_connection.credentials(), ca_bundle=settings.SALESFORCE_CA_BUNDLE or None
        )
        sf.cancel_deploy(org, deployment.sf_deploy_id)
    except sf.SalesforceError as exc:
        Deployment.objects.filter(pk=deployment_id).update(
            error_message=f"Could not cancel: {exc.message}"
        )
        return CancelRequest.FAILED
    return CancelRequest.REQUESTED
