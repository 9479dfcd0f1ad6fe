"""Deployments through the Metadata API: deploy, checkDeployStatus, deployRecentValidation,
cancelDeploy, and a patient `wait`. The DeployResult it reads, typed, is in `deploy_result.py`.

We write these four SOAP calls ourselves rather than use simple-salesforce's
`SfdcMetadataApi`: it has no deployRecentValidation or cancelDeploy, its status parser drops
`done`, line and column numbers and full names, it keeps the session id it was built with (so a
re-login does not reach it), and it splices test class names into XML unescaped. The envelopes
follow the Metadata API WSDL (element order included).
"""

from __future__ import annotations

import base64
import logging
import re
import time
from collections.abc import Callable, Iterable
from xml.sax.saxutils import escape

from django.db import models

from instances.salesforce.deploy_result import DeployStatus, parse_deploy_result
from instances.salesforce.errors import (
    ApiError,
    QuickDeployRefused,
    SalesforceError,
)
from instances.salesforce.session import METADATA_NS, OrgSession

logger = logging.getLogger(__name__)

_NS = f"{{{METADATA_NS}}}"
_TEST_CLASS = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$")


class TestLevel(models.TextChoices):
    """The Metadata API's test levels: the one list, which instances and forms choose from."""

    __test__ = False  # not a pytest test class

    NO_TEST_RUN = "NoTestRun", "No tests"
    RUN_SPECIFIED_TESTS = "RunSpecifiedTests", "Specified tests (from the delta by default)"
    RUN_LOCAL_TESTS = "RunLocalTests", "Local tests"
    RUN_ALL_TESTS_IN_ORG = "RunAllTestsInOrg", "All tests in the org"


# --------------------------------------------------------------------------- calls


class DeployTimeout(SalesforceError):
    """The deployment did not finish in time. It may still be running in the org."""

    retryable = True

    def __init__(self, message: str, *, deploy_id: str, last_status: DeployStatus | None) -> None:
        super().__init__(message)
        self.deploy_id = deploy_id
        self.last_status = last_status


def _bool(value: bool) -> str:
    return "true" if value else "false"


def start_deploy(
    session: OrgSession,
    zip_bytes: bytes,
    *,
    check_only: bool,
    test_level: TestLevel | str,
    run_tests: Iterable[str] = (),
    single_package: bool = True,
    ignore_warnings: bool = False,
    purge_on_delete: bool = False,
) -> str:
    """Start a deployment (or, with check_only, a validation) of a metadata-format zip;
    return its id. `single_package`: package.xml sits at the zip's root."""
    level = TestLevel(test_level)
    tests = list(run_tests)
    if level == TestLevel.RUN_SPECIFIED_TESTS and not tests:
        raise ValueError("RunSpecifiedTests needs at least one test class.")
    if tests and level != TestLevel.RUN_SPECIFIED_TESTS:
        raise ValueError(f"Test classes are only run with RunSpecifiedTests, not {level}.")
    if bad := [name for name in tests if not _TEST_CLASS.match(name)]:
        raise ValueError(f"Not Apex class names: {', '.join(bad)}")
    options = (
        "<met:allowMissingFiles>false</met:allowMissingFiles>"
        "<met:autoUpdatePackage>false</met:autoUpdatePackage>"
        f"<met:checkOnly>{_bool(check_only)}</met:checkOnly>"
        f"<met:ignoreWarnings>{_bool(ignore_warnings)}</met:ignoreWarnings>"
        "<met:performRetrieve>false</met:performRetrieve>"
        f"<met:purgeOnDelete>{_bool(purge_on_delete)}</met:purgeOnDelete>"
        "<met:rollbackOnError>true</met:rollbackOnError>"
        + "".join(f"<met:runTests>{escape(name)}</met:runTests>" for name in tests)
        + f"<met:singlePackage>{_bool(single_package)}</met:singlePackage>"
        f"<met:testLevel>{level.value}</met:testLevel>"
    )
    body = (
        f"<met:ZipFile>{base64.b64encode(zip_bytes).decode()}</met:ZipFile>"
        f"<met:DeployOptions>{options}</met:DeployOptions>"
    )
    result = session.metadata_call("deploy", body)
    deploy_id = result.findtext(f"{_NS}id") or ""
    if not deploy_id:
        raise ApiError("Salesforce accepted the deploy request but returned no id.")
    logger.info(
        "Started %s %s on %s (%s, %d bytes).",
        "validation" if check_only else "deployment",
        deploy_id,
        session.host,
        level.value,
        len(zip_bytes),
    )
    return deploy_id


def deploy_status(session: OrgSession, deploy_id: str) -> DeployStatus:
    """checkDeployStatus with includeDetails: progress, and failures once there are any."""
    body = (
        f"<met:asyncProcessId>{escape(deploy_id)}</met:asyncProcessId>"
        "<met:includeDetails>true</met:includeDetails>"
    )
    return parse_deploy_result(session.metadata_call("checkDeployStatus", body), session.redact)


def quick_deploy(session: OrgSession, validation_id: str) -> str:
    """deployRecentValidation: deploy a successful validation without running tests again;
    return the new deployment's id."""
    body = f"<met:validationId>{escape(validation_id)}</met:validationId>"
    try:
        result = session.metadata_call("deployRecentValidation", body)
    except ApiError as exc:
        raise QuickDeployRefused(
            f"Validation {validation_id} cannot be quick-deployed: it must have succeeded with "
            f"Apex tests in the last 10 days, and nothing may have been deployed since. "
            f"Validate again. ({exc.message})",
            code=exc.code,
        ) from None
    deploy_id = (result.text or "").strip()
    if not deploy_id:
        raise ApiError("Salesforce accepted the quick deploy but returned no id.")
    logger.info(
        "Quick-deploying validation %s on %s as %s.", validation_id, session.host, deploy_id
    )
    return deploy_id


def cancel_deploy(session: OrgSession, deploy_id: str) -> bool:
    """Ask the org to cancel a deployment; True when it is already canceled. Canceling is
    asynchronous: poll `deploy_status` until the status is Canceled."""
    body = f"<met:String>{escape(deploy_id)}</met:String>"
    result = session.metadata_call("cancelDeploy", body)
    done = (result.findtext(f"{_NS}done") or "") == "true"
    logger.info("Asked %s to cancel deployment %s (done=%s).", session.host, deploy_id, done)
    return done


def wait(
    session: OrgSession,
    deploy_id: str,
    *,
    timeout: float,
    poll: float = 10.0,
    on_progress: Callable[[DeployStatus], None] | None = None,
    max_transient_errors: int = 3,
) -> DeployStatus:
    """Poll until the deployment is done and return its final status.

    `on_progress` sees every status (the last one included). A few consecutive transient errors
    (HTTP 5xx, a dropped connection) are ridden out; DeployTimeout after `timeout` seconds
    leaves the deployment running in the org: cancel it or look at it there.
    """
    deadline = time.monotonic() + timeout
    last: DeployStatus | None = None
    errors = 0
    while True:
        try:
            status = deploy_status(session, deploy_id)
        except SalesforceError as exc:
            errors += 1
            if not exc.retryable or errors > max_transient_errors:
                raise
            logger.warning("Polling deployment %s failed (%s); polling again.", deploy_id, exc)
        else:
            errors, last = 0, status
            if on_progress is not None:
                on_progress(status)
            if status.done:
                return status
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            seen = f" Last status: {last.progress()}." if last else ""
            raise DeployTimeout(
                f"Deployment {deploy_id} on {session.host} did not finish within "
                f"{_duration(timeout)}.{seen} It may still be running: check Setup → "
                "Deployment Status in the org, or cancel it.",
                deploy_id=deploy_id,
                last_status=last,
            )
        time.sleep(min(poll, remaining))


def _duration(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:g} minutes"
    return f"{seconds:g} seconds"
