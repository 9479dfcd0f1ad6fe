"""The Salesforce org client: log in (four auth methods), read an org's facts, deploy.

Used by the promotion engine (step 4) and by "Test connection". Plain Python over
simple-salesforce and requests; no Django views. See docs/salesforce.md.

    org = connect(connection.credentials(), ca_bundle=settings.SALESFORCE_CA_BUNDLE)
    deploy_id = start_deploy(org, zip_bytes, check_only=False, test_level=TestLevel.RUN_LOCAL_TESTS)
    status = wait(org, deploy_id, timeout=3600, poll=10, on_progress=print)
"""

from instances.salesforce.auth import jwt_audience, parse_sfdx_auth_url
from instances.salesforce.credentials import AuthMethod, Credentials, OrgType
from instances.salesforce.deploy import (
    ComponentFailure,
    DeployState,
    DeployStatus,
    DeployTimeout,
    TestFailure,
    TestLevel,
    cancel_deploy,
    deploy_status,
    quick_deploy,
    start_deploy,
    wait,
)
from instances.salesforce.errors import (
    ApiDisabled,
    ApiError,
    ConnectionIncomplete,
    LoginFailed,
    OrgUnavailable,
    OrgUnreachable,
    QuickDeployRefused,
    RequestLimitExceeded,
    SalesforceError,
    SessionExpired,
    TlsVerificationFailed,
    redact,
)
from instances.salesforce.org import OrgFacts, org_facts, test_connection
from instances.salesforce.session import API_VERSION, OrgSession, connect

__all__ = [
    "API_VERSION",
    "AuthMethod",
    "Credentials",
    "OrgType",
    "ApiDisabled",
    "ApiError",
    "ComponentFailure",
    "ConnectionIncomplete",
    "DeployState",
    "DeployStatus",
    "DeployTimeout",
    "LoginFailed",
    "OrgFacts",
    "OrgSession",
    "OrgUnavailable",
    "OrgUnreachable",
    "QuickDeployRefused",
    "RequestLimitExceeded",
    "SalesforceError",
    "SessionExpired",
    "TestFailure",
    "TestLevel",
    "TlsVerificationFailed",
    "cancel_deploy",
    "connect",
    "deploy_status",
    "jwt_audience",
    "org_facts",
    "parse_sfdx_auth_url",
    "quick_deploy",
    "redact",
    "start_deploy",
    "test_connection",
    "wait",
]
