"""Environment tasks for the django-q2 cluster: test an org connection (logging in takes
seconds, so never inside a request)."""

from __future__ import annotations

from enum import StrEnum

from django.conf import settings
from django.utils import timezone

from instances import salesforce as sf
from instances.models import OrgConnection


class ConnectionTest(StrEnum):
    OK = "ok"  # logged in; the org's facts are stored
    FAILED = "failed"  # the reason is stored as the connection's last check error
    GONE = "gone"  # the connection was deleted before the task ran


def test_org_connection(connection_id: int) -> ConnectionTest:
    """Log in with the connection, read the org's facts and store them (or the reason not)."""
    connection = OrgConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        return ConnectionTest.GONE
    try:
        facts = sf.test_connection(
            connection.credentials(), ca_bundle=settings.SALESFORCE_CA_BUNDLE or None
        )
    except sf.SalesforceError as exc:
        connection.last_check_error = exc.message
        connection.last_checked_at = timezone.now()
        connection.save(update_fields=["last_check_error", "last_checked_at"])
        return ConnectionTest.FAILED
    connection.save(update_fields=connection.apply_facts(facts))
    return ConnectionTest.OK


def create_branch_job(job_id: int) -> str:
    """Create a missing environment branch on a repository with a remote (a job)."""
    from instances.environments import branches
    from releasemgr import jobs

    return jobs.run(job_id, branches.run_create_job, (branches.BranchNotCreated,))
