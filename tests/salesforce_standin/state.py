"""The stand-in org's state: its organization, users, knobs, deployments, requests seen."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_COMPONENT_FAILURES = [
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
DEFAULT_TEST_FAILURES = [
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
    deploy_polls: int = 2  # checkDeployStatus answers "in progress" this many times first
    deploy_never_finishes: bool = False
    deploy_outcome: str = "succeeded"  # or "component_errors", "test_failures"
    component_failures: list[dict[str, Any]] = field(
        default_factory=lambda: [dict(f) for f in DEFAULT_COMPONENT_FAILURES]
    )
    test_failures: list[dict[str, Any]] = field(
        default_factory=lambda: [dict(f) for f in DEFAULT_TEST_FAILURES]
    )
    components_total: int = 4
    tests_total: int = 3


@dataclass
class Organization:
    org_id: str = "00D5g000004ABCDEAZ"
    name: str = "Acme Corporation"
    organization_type: str = "Enterprise Edition"
    is_sandbox: bool = False
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
    polls: int = 0
    cancel_requested: bool = False
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
    test_failures: list[dict[str, Any]] = field(default_factory=list)


class SoapFault(Exception):
    def __init__(self, code: str, message: str = "", status: int = 500) -> None:
        super().__init__(code)
        self.code, self.message, self.status = code, message, status
