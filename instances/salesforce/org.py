"""What "Test connection" learns about an org: who it is, what kind, when it expires, and how
much API it has left."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import requests

from instances.salesforce.credentials import Credentials, OrgType
from instances.salesforce.errors import ApiError
from instances.salesforce.session import API_VERSION, DEFAULT_TIMEOUT, OrgSession, connect

ORGANIZATION_SOQL = (
    "SELECT Id, Name, OrganizationType, IsSandbox, TrialExpirationDate, InstanceName, "
    "NamespacePrefix FROM Organization LIMIT 1"
)

# The limits a release manager watches (GET /limits returns ~60); each as {"Max", "Remaining"}.
LIMITS_THAT_MATTER = (
    "DailyApiRequests",
    "DailyAsyncApexExecutions",
    "DailyBulkApiBatches",
    "DailyBulkV2QueryJobs",
    "DailyStreamingApiEvents",
    "DataStorageMB",
    "FileStorageMB",
    "SingleEmail",
)


@dataclass(frozen=True)
class OrgFacts:
    org_id: str
    name: str
    org_type: OrgType
    organization_type: str  # Salesforce's edition, e.g. "Enterprise Edition"
    is_sandbox: bool
    instance_name: str
    namespace_prefix: str
    expires_on: dt.date | None  # scratch orgs (and trials) expire
    instance_url: str
    limits: dict[str, dict[str, int]] = field(default_factory=dict)


def org_type_of(record: dict[str, Any]) -> OrgType:
    """Scratch orgs are sandboxes with a trial expiry; Developer Edition is its own kind."""
    if record.get("IsSandbox"):
        return OrgType.SCRATCH if record.get("TrialExpirationDate") else OrgType.SANDBOX
    if record.get("OrganizationType") == "Developer Edition":
        return OrgType.DEVELOPER
    return OrgType.PRODUCTION


def _date(value: Any) -> dt.date | None:
    """TrialExpirationDate is a datetime such as 2027-01-15T23:59:59.000+0000."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _limits(raw: dict[str, Any]) -> dict[str, dict[str, int]]:
    limits: dict[str, dict[str, int]] = {}
    for name in LIMITS_THAT_MATTER:
        entry = raw.get(name)
        if isinstance(entry, dict) and "Max" in entry and "Remaining" in entry:
            limits[name] = {"Max": int(entry["Max"]), "Remaining": int(entry["Remaining"])}
    return limits


def org_facts(session: OrgSession) -> OrgFacts:
    """Query Organization and /limits on an open session."""
    result = session.rest_call(
        "query of Organization", lambda sf: sf.query(ORGANIZATION_SOQL, timeout=session.timeout)
    )
    records = result.get("records") or []
    if not records:
        raise ApiError(
            "The Organization query returned nothing: the user cannot read its own org. "
            "Use a user with the “View Setup and Configuration” permission."
        )
    record = records[0]
    raw_limits = session.rest_call("limits request", lambda sf: sf.limits(timeout=session.timeout))
    return OrgFacts(
        org_id=str(record.get("Id") or ""),
        name=str(record.get("Name") or ""),
        org_type=org_type_of(record),
        organization_type=str(record.get("OrganizationType") or ""),
        is_sandbox=bool(record.get("IsSandbox")),
        instance_name=str(record.get("InstanceName") or ""),
        namespace_prefix=str(record.get("NamespacePrefix") or ""),
        expires_on=_date(record.get("TrialExpirationDate")),
        instance_url=session.instance_url,
        limits=_limits(raw_limits or {}),
    )


def test_connection(
    connection: Credentials,
    *,
    ca_bundle: str | None = None,
    session: requests.Session | None = None,
    api_version: str = API_VERSION,
    timeout: float = DEFAULT_TIMEOUT,
) -> OrgFacts:
    """Log in with the connection and read the org's facts; raises a SalesforceError (with a
    message for the user) when the org cannot be reached or refuses."""
    org = connect(
        connection, ca_bundle=ca_bundle, session=session, api_version=api_version, timeout=timeout
    )
    return org_facts(org)


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test
