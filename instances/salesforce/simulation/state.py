"""The simulated org's state: its organization, users, knobs, deployments, requests seen."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_COMPONENT_FAILURES: list[dict[str, Any]] = [
    {
        "componentType": "ApexClass",
        "fullName": "InvoiceService",
        "fileName": "classes/InvoiceService.cls",
        "lineNumber": 12,
        "columnNumber": 5,
        "problem": "Variable does not exist: totl",
        "problemType": "Error",
    },
    {
        "componentType": "CustomField",
        "fullName": "Invoice__c.Total__c",
        "fileName": "objects/Invoice__c.object",
        "problem": "Field Amount__c does not exist. Check spelling.",
        "problemType": "Error",
    },
]
DEFAULT_TEST_FAILURES: list[dict[str, Any]] = [
    {
        "name": "InvoiceServiceTest",
        "methodName": "testTotals",
        "message": "System.AssertException: Assertion Failed: Expected: 42, Actual: 41",
        "stackTrace": "Class.InvoiceServiceTest.testTotals: line 17, column 1",
    }
]


@dataclass
class Knobs:
    """How the org misbehaves. Tests flip these at any time."""

    api_disabled: bool = False  # API_DISABLED_FOR_ORG on login, REST and Metadata API
    request_limit_exceeded: bool = False  # REQUEST_LIMIT_EXCEEDED (REST: HTTP 403)
    server_error: int | None = None  # requests answer this HTTP status with an HTML page …
    server_error_remaining: int | None = None  # … this many of them (None: all)
    reject_sessions: bool = False  # logins succeed, every session is refused (a frozen user)
    # The worst case for redaction: every error message quotes the request's credentials
    # (body and Authorization header), as some proxies and misconfigured gateways do.
    echo_credentials_in_errors: bool = False
    # The org's "Allow SOAP API login()" setting: off by default in new orgs, and the call
    # itself is gone from API 65.0 whatever the setting says.
    soap_login_disabled: bool = False
    # The connected app's "Issue JSON Web Token (JWT)-based access tokens": the SOAP APIs
    # refuse such tokens below API 68.0 (INVALID_SESSION_ID), REST accepts them.
    jwt_access_tokens: bool = False
    # The org's newest API version (Winter '27 is 68.0): `GET /services/data/` lists 31.0 up
    # to it (21.0–30.0 were retired in Summer '25); a newer version answers REST with
    # NOT_FOUND and SOAP with UNSUPPORTED_API_VERSION, as an org not yet on a release does.
    latest_api_version: str = "68.0"
    # The client credentials flow's "Run As" user (None: the flow is not enabled).
    client_credentials_user: str | None = "ci@acme.example"
    deploy_polls: int = 2  # checkDeployStatus answers "in progress" this many times first
    deploy_never_finishes: bool = False
    deploy_outcome: str = "succeeded"  # or "component_errors", "test_failures"
    # Real orgs sometimes report componentFailures with numberComponentErrors=0.
    count_component_errors: bool = True
    # Code coverage per Apex class or trigger: name -> (numLocations, numLocationsNotCovered).
    # Classes not named here are covered 18 of 20 lines (90 %).
    coverage: dict[str, tuple[int, int]] = field(default_factory=dict)
    component_failures: list[dict[str, Any]] = field(
        default_factory=lambda: [dict(f) for f in DEFAULT_COMPONENT_FAILURES]
    )
    test_failures: list[dict[str, Any]] = field(
        default_factory=lambda: [dict(f) for f in DEFAULT_TEST_FAILURES]
    )
    # Components the org refuses whenever a deployment holds them, whatever deploy_outcome
    # says: full name -> the componentFailure (problem, fileName, lineNumber, …) it answers.
    refused_components: dict[str, dict[str, Any]] = field(default_factory=dict)
    components_total: int = 4
    tests_total: int = 3


@dataclass
class Organization:
    org_id: str = "00D5g000004ABCDEAZ"
    name: str = "Acme Corporation"
    organization_type: str = "Enterprise Edition"
    is_sandbox: bool = True  # most orgs in a pipeline are; a test makes it production
    trial_expiration: str | None = None  # e.g. "2027-01-15T23:59:59.000+0000" (scratch orgs)
    instance_name: str = "NA224"
    namespace_prefix: str | None = None
    limits: dict[str, Any] = field(
        default_factory=lambda: {
            "DailyApiRequests": {"Max": 15000, "Remaining": 14873, "Ant Migration Tool": {}},
            "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DataStorageMB": {"Max": 1024, "Remaining": 1010},
            "FileStorageMB": {"Max": 10240, "Remaining": 10200},
            "HourlyODataCallout": {"Max": 20000, "Remaining": 20000},
            "SingleEmail": {"Max": 5000, "Remaining": 5000},
        }
    )
    # What the org holds (type -> names): deletions of anything else are warnings.
    components: dict[str, set[str]] = field(
        default_factory=lambda: {"ApexClass": {"InvoiceService", "LegacyService"}}
    )

    @property
    def is_production(self) -> bool:
        """Production rules (tests required, NoTestRun refused, 75 % coverage) apply to
        every org that is not a sandbox, a scratch org, a Developer Edition or a trial."""
        return not (
            self.is_sandbox
            or self.organization_type == "Developer Edition"
            or self.trial_expiration
        )


@dataclass
class User:
    username: str
    password: str
    security_token: str
    user_id: str = "0055g00000ABCDEAA1"


@dataclass
class Received:
    """One request as the stand-in saw it."""

    method: str
    path: str
    operation: str  # login, token, query, limits, deploy, checkDeployStatus, …
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def header(self, name: str) -> str:
        """A header by name, whatever its case (Node's fetch sends them lower-cased)."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), "")


@dataclass
class Deployment:
    id: str
    zip_bytes: bytes
    check_only: bool
    test_level: str
    run_tests: list[str]
    ignore_warnings: bool
    rollback_on_error: bool
    created: str
    quick_of: str = ""  # the validation a quick deploy deploys
    members: dict[str, list[str]] = field(default_factory=dict)  # package.xml
    destructive: dict[str, list[str]] = field(default_factory=dict)  # destructiveChanges*.xml
    polls: int = 0
    cancel_requested: bool = False
    canceled_by_name: str = ""
    # Filled in by each status check:
    status: str = "Pending"
    done: bool = False
    state_detail: str = ""
    error_message: str = ""
    components_total: int = 0
    components_deployed: int = 0
    tests_total: int = 0
    tests_completed: int = 0
    component_failures: list[dict[str, Any]] = field(default_factory=list)
    component_successes: list[dict[str, Any]] = field(default_factory=list)
    test_failures: list[dict[str, Any]] = field(default_factory=list)
    test_successes: list[dict[str, Any]] = field(default_factory=list)
    coverage: list[dict[str, Any]] = field(default_factory=list)
    coverage_warnings: list[dict[str, Any]] = field(default_factory=list)


class SoapFault(Exception):
    def __init__(self, code: str, message: str = "", status: int = 500) -> None:
        super().__init__(code)
        self.code, self.message, self.status = code, message, status
