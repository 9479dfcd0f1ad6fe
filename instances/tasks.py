"""Tasks for the django-q2 cluster: run a promotion, and keep every target's queue moving."""

from __future__ import annotations

from django.db.models import Min, Q
from django.utils import timezone
from django_q.tasks import async_task

from instances import engine
from instances.models import Promotion, PromotionStatus


def run_promotion(promotion_id: int) -> str:
    """Run one promotion if it is runnable; a duplicate or early task simply does nothing."""
    return engine.run_promotion(promotion_id)


def dispatch_target(target_id: int) -> int | None:
    """Queue a task for the promotion that should run next on this target, if any."""
    now = timezone.now()
    active = Promotion.objects.filter(target_id=target_id)
    stale = (
        active.filter(status=PromotionStatus.RUNNING)
        .filter(Q(lease_until__lt=now) | Q(lease_until__isnull=True))
        .first()
    )
    if stale is not None:
        next_id: int | None = stale.pk
    elif active.filter(status=PromotionStatus.RUNNING).exists():
        return None
    else:
        next_id = active.filter(status=PromotionStatus.QUEUED).aggregate(first=Min("id"))["first"]
    if next_id is not None:
        async_task("instances.tasks.run_promotion", next_id, task_name=f"promotion-{next_id}")
    return next_id


def dispatch() -> list[int]:
    """Every minute: start what waits behind a finished promotion; resume a dead worker's."""
    targets = (
        Promotion.objects.filter(status__in=[PromotionStatus.QUEUED, PromotionStatus.RUNNING])
        .values_list("target_id", flat=True)
        .distinct()
    )
    started = [dispatch_target(t) for t in targets]
    return [p for p in started if p is not None]


def test_org_connection(connection_id: int) -> str:
    """Log in with the connection, read the org's facts and store them (or the reason not)."""
    from django.conf import settings

    from instances import salesforce as sf
    from instances.models import OrgConnection

    connection = OrgConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        return "gone"
    try:
        facts = sf.test_connection(connection, ca_bundle=settings.SALESFORCE_CA_BUNDLE or None)
    except sf.SalesforceError as exc:
        connection.last_check_error = exc.message
        connection.last_checked_at = timezone.now()
        connection.save(update_fields=["last_check_error", "last_checked_at"])
        return "failed"
    connection.save(update_fields=facts.apply_to(connection))
    return "ok"


def run_deployment(deployment_id: int) -> str:
    """Run a standalone deployment (a redeploy outside any promotion), once."""
    from datetime import timedelta

    from branching import workspace
    from instances import deployments
    from instances.models import Deployment

    worker = engine.worker_id()
    lease = timedelta(seconds=engine.lease_seconds())
    now = timezone.now()
    claimed = (
        Deployment.objects.filter(pk=deployment_id, promotion__isnull=True)
        .exclude(status__in=["succeeded", "failed", "cancelled", "errored"])
        .filter(Q(claimed_by="") | Q(lease_until__lt=now))
        .update(claimed_by=worker, lease_until=now + lease)
    )
    if not claimed:
        return "not runnable now"
    deployment = Deployment.objects.select_related(
        "instance__repository", "org_connection", "validation"
    ).get(pk=deployment_id)

    def heartbeat() -> None:
        Deployment.objects.filter(pk=deployment_id, claimed_by=worker).update(
            lease_until=timezone.now() + lease
        )

    try:
        with workspace.open_storage(deployment.instance.repository) as repo:
            workspace.sync(deployment.instance.repository, repo)
            deployments.run(deployment, repo, heartbeat=heartbeat)
    except deployments.DeploymentFailed:
        pass
    except Exception as exc:  # an unexpected error still ends the deployment, with its reason
        Deployment.objects.filter(pk=deployment_id).update(
            status="errored",
            error_message=f"{exc.__class__.__name__}: {exc}",
            finished_at=timezone.now(),
        )
    deployment.refresh_from_db()
    return deployment.status


def cancel_deployment(deployment_id: int, user_id: int | None = None) -> str:
    """Ask the org to cancel a running deployment; the run that polls it sees it end."""
    from django.conf import settings

    from instances import salesforce as sf
    from instances.models import Deployment

    deployment = Deployment.objects.select_related("org_connection").get(pk=deployment_id)
    if deployment.is_terminal or not deployment.sf_deploy_id:
        return "nothing to cancel"
    try:
        org = sf.connect(deployment.org_connection, ca_bundle=settings.SALESFORCE_CA_BUNDLE or None)
        sf.cancel_deploy(org, deployment.sf_deploy_id)
    except sf.SalesforceError as exc:
        Deployment.objects.filter(pk=deployment_id).update(
            error_message=f"Could not cancel: {exc.message}"
        )
        return "failed"
    return "cancel requested"
