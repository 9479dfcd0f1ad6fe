"""The Salesforce org client: log in (four auth methods), read an org's facts, deploy.

Used by the promotion engine (step 4) and by "Test connection". Plain Python over
simple-salesforce and requests; no Django views. See docs/salesforce.md.

    org = connect(connection.credentials(), ca_bundle=settings.SALESFORCE_CA_BUNDLE)
    deploy_id = start_deploy(org, zip_bytes, check_only=False, test_level=TestLevel.RUN_LOCAL_TESTS)
    status = wait(org, deploy_id, timeout=3600, poll=10, on_progress=print)
"""

from instances.salesforce.credentials import AuthMethod, Credentials, OrgType
from instances.salesforce.deploy import (
    DeployTimeout,
    TestLevel,
    cancel_deploy,
    deploy_status,
    quick_deploy,
    start_deploy,
    wait,
)
from instances.salesforce.deploy_result import (
    COVERAGE_REQUIRED,
    CodeCoverage,
    ComponentFailure,
    CoverageWarning,
    DeployState,
    DeployStatus,
    TestFailure,
)
from instances.salesforce.errors import (
    ApiDisabled,
    ApiError,
    ConnectionIncomplete,
    JwtAccessTokenRefused,
    LoginFailed,
    OrgUnavailable,
    OrgUnreachable,
    QuickDeployRefused,
    RequestLimitExceeded,
    SalesforceError,
    SessionExpired,
    SoapLoginUnavailable,
    TestLevelRefused,
    TlsVerificationFailed,
    redact,
)
from instances.salesforce.levels import allowed_test_levels, check_test_level, default_test_level
from instances.salesforce.login import (
    SOAP_LOGIN_LAST_VERSION,
    SOAP_LOGIN_RETIRED_IN,
    SOAP_LOGIN_RETIREMENT,
    jwt_audience,
)
from instances.salesforce.oauth import parse_sfdx_auth_url
from instances.salesforce.org import OrgFacts, org_facts, test_connection
from instances.salesforce.session import (
    API_VERSION,
    SOAP_JWT_TOKENS_FROM,
    OrgSession,
    connect,
    is_jwt_token,
)

__all__ = [
    "API_VERSION",
    "AuthMethod",
    "Credentials",
    "OrgType",
    "COVERAGE_REQUIRED",
    "SOAP_JWT_TOKENS_FROM",
    "SOAP_LOGIN_LAST_VERSION",
    "SOAP_LOGIN_RETIRED_IN",
    "SOAP_LOGIN_RETIREMENT",
    "CodeCoverage",
    "CoverageWarning",
    "JwtAccessTokenRefused",
    "SoapLoginUnavailable",
    "TestLevelRefused",
    "allowed_test_levels",
    "check_test_level",
    "default_test_level",
    "is_jwt_token",
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
