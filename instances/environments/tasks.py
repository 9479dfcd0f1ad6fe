"""Environment tasks for the django-q2 cluster: test an org connection (logging in takes
seconds, so never inside a request)."""

from __future__ import annotations

from django.utils import timezone


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
