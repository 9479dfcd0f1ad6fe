"""Deployments through the Metadata API against the stand-in org: the request, progress and
success, quick deploy, cancel, timeouts, faults, and a session that expires mid-way."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from instances import salesforce as sf
from tests.salesforce_standin.connections import jwt_connection
from tests.salesforce_standin.packages import make_package

pytest_plugins = ["tests.salesforce_standin.plugin"]

MD = "{http://soap.sforce.com/2006/04/metadata}"


def deploy_options(salesforce) -> list[tuple[str, str]]:
    (call,) = salesforce.calls("deploy")
    root = ET.fromstring(call.body)
    options = root.find(f".//{MD}DeployOptions")
    return [(child.tag.removeprefix(MD), child.text or "") for child in options]


def test_it_deploys_and_follows_the_progress_until_it_succeeds(salesforce, org):
    salesforce.knobs.deploy_polls = 3
    package = make_package()
    seen = []

    deploy_id = sf.start_deploy(org, package, check_only=False, test_level="RunLocalTests")
    status = sf.wait(org, deploy_id, timeout=10, poll=0.01, on_progress=seen.append)

    assert salesforce.deployments[deploy_id].zip_bytes == package
    assert [s.status for s in seen] == ["Pending", "InProgress", "InProgress", "Succeeded"]
    assert [s.done for s in seen] == [False, False, False, True]
    assert [s.components_deployed for s in seen] == [1, 2, 3, 4]
    assert [s.tests_completed for s in seen] == [0, 1, 2, 3]
    assert status.succeeded and status.success and not status.check_only
    assert (status.components_total, status.tests_total) == (4, 3)
    assert status.component_failures == () and status.test_failures == ()
    assert seen[1].progress() == (
        "InProgress: 2/4 components, 1/3 tests — Processing Type: Apex Class"
    )
    assert status.summary() == f"Deployment {deploy_id} succeeded: 4/4 components, 3/3 tests."


def test_the_deploy_request_follows_the_wsdl(salesforce, org):
    sf.start_deploy(
        org,
        make_package(),
        check_only=True,
        test_level=sf.TestLevel.RUN_SPECIFIED_TESTS,
        run_tests=["InvoiceServiceTest", "acme.TaxTest"],
    )

    (call,) = salesforce.calls("deploy")
    assert call.path == f"/services/Soap/m/{sf.API_VERSION}"
    assert call.headers["SOAPAction"] == "deploy"
    assert call.headers["Content-Type"].startswith("text/xml")
    assert deploy_options(salesforce) == [
        ("allowMissingFiles", "false"),
        ("autoUpdatePackage", "false"),
        ("checkOnly", "true"),
        ("ignoreWarnings", "false"),
        ("performRetrieve", "false"),
        ("purgeOnDelete", "false"),
        ("rollbackOnError", "true"),
        ("runTests", "InvoiceServiceTest"),
        ("runTests", "acme.TaxTest"),
        ("singlePackage", "true"),
        ("testLevel", "RunSpecifiedTests"),
    ]


@pytest.mark.parametrize(
    ("level", "tests", "error"),
    [
        ("RunSpecifiedTests", [], "needs at least one test class"),
        ("RunLocalTests", ["InvoiceServiceTest"], "only run with RunSpecifiedTests"),
        ("RunSpecifiedTests", ["Bad</met:runTests>"], "Not Apex class names"),
        ("RunEverything", [], "is not a valid TestLevel"),
    ],
)
def test_it_refuses_test_options_salesforce_would_refuse(salesforce, org, level, tests, error):
    with pytest.raises(ValueError, match=error):
        sf.start_deploy(org, make_package(), check_only=True, test_level=level, run_tests=tests)

    assert salesforce.calls("deploy") == []


def test_a_successful_validation_is_quick_deployed(salesforce, org):
    validation_id = sf.start_deploy(
        org, make_package(), check_only=True, test_level="RunLocalTests"
    )
    assert sf.wait(org, validation_id, timeout=10, poll=0.01).succeeded

    deploy_id = sf.quick_deploy(org, validation_id)
    status = sf.wait(org, deploy_id, timeout=10, poll=0.01)

    assert deploy_id != validation_id
    assert salesforce.deployments[deploy_id].quick_of == validation_id
    assert status.succeeded and not status.check_only
    assert status.tests_total == 0  # the tests ran during the validation
    (call,) = salesforce.calls("deployRecentValidation")
    assert f"<met:validationId>{validation_id}</met:validationId>" in call.text


@pytest.mark.parametrize("outcome", ["test_failures", "never_validated"])
def test_a_validation_that_cannot_be_quick_deployed_is_refused(salesforce, org, outcome):
    if outcome == "never_validated":
        candidate = sf.start_deploy(org, make_package(), check_only=False, test_level="NoTestRun")
    else:
        salesforce.knobs.deploy_outcome = outcome
        candidate = sf.start_deploy(
            org, make_package(), check_only=True, test_level="RunLocalTests"
        )
    sf.wait(org, candidate, timeout=10, poll=0.01)

    with pytest.raises(sf.QuickDeployRefused) as caught:
        sf.quick_deploy(org, candidate)

    assert caught.value.message.startswith(f"Validation {candidate} cannot be quick-deployed")
    assert "Validate again" in caught.value.message
    assert caught.value.code == "INVALID_ID_FIELD"


def test_a_deployment_is_canceled(salesforce, org):
    salesforce.knobs.deploy_never_finishes = True
    deploy_id = sf.start_deploy(org, make_package(), check_only=False, test_level="NoTestRun")
    assert not sf.deploy_status(org, deploy_id).done

    done = sf.cancel_deploy(org, deploy_id)
    status = sf.wait(org, deploy_id, timeout=10, poll=0.01)

    assert done is False  # canceling is asynchronous
    assert status.done and status.status == sf.DeployState.CANCELED
    (call,) = salesforce.calls("cancelDeploy")
    assert f"<met:String>{deploy_id}</met:String>" in call.text


def test_a_finished_deployment_cannot_be_canceled(salesforce, org):
    deploy_id = sf.start_deploy(org, make_package(), check_only=False, test_level="NoTestRun")
    sf.wait(org, deploy_id, timeout=10, poll=0.01)

    with pytest.raises(sf.ApiError, match="already completed"):
        sf.cancel_deploy(org, deploy_id)


def test_a_deployment_that_never_finishes_times_out(salesforce, org):
    salesforce.knobs.deploy_never_finishes = True
    deploy_id = sf.start_deploy(org, make_package(), check_only=False, test_level="RunLocalTests")

    with pytest.raises(sf.DeployTimeout) as caught:
        sf.wait(org, deploy_id, timeout=0.3, poll=0.05)

    error = caught.value
    assert error.deploy_id == deploy_id
    assert error.last_status is not None and error.last_status.status == "InProgress"
    assert error.retryable
    assert error.message == (
        f"Deployment {deploy_id} on {salesforce.host} did not finish within 0.3 seconds. "
        "Last status: InProgress: 2/4 components, 1/3 tests — Processing Type: Apex Class. "
        "It may still be running: check Setup → Deployment Status in the org, or cancel it."
    )
    assert len(salesforce.calls("checkDeployStatus")) >= 2


def test_a_session_that_expires_during_a_deployment_is_renewed(salesforce):
    org = sf.connect(jwt_connection(salesforce).credentials(), ca_bundle=salesforce.ca_path)
    salesforce.knobs.deploy_polls = 3
    deploy_id = sf.start_deploy(org, make_package(), check_only=False, test_level="NoTestRun")

    def expire_once(status):
        if status.status == "Pending":
            salesforce.expire_sessions()

    status = sf.wait(org, deploy_id, timeout=10, poll=0.01, on_progress=expire_once)

    assert status.succeeded
    assert org.logins == 2
    assert salesforce.operations().count("token") == 2


def test_a_few_server_errors_while_waiting_are_ridden_out(salesforce, org):
    deploy_id = sf.start_deploy(org, make_package(), check_only=False, test_level="NoTestRun")
    salesforce.knobs.server_error = 503
    salesforce.knobs.server_error_remaining = 2

    status = sf.wait(org, deploy_id, timeout=10, poll=0.01)

    assert status.succeeded


def test_a_lasting_outage_while_waiting_is_an_error(salesforce, org):
    deploy_id = sf.start_deploy(org, make_package(), check_only=False, test_level="NoTestRun")
    salesforce.knobs.server_error = 500

    with pytest.raises(sf.OrgUnavailable, match="HTTP 500"):
        sf.wait(org, deploy_id, timeout=10, poll=0.01, max_transient_errors=3)

    assert len(salesforce.calls("checkDeployStatus")) == 4


@pytest.mark.parametrize(
    ("knob", "error", "code"),
    [
        ("request_limit_exceeded", sf.RequestLimitExceeded, "REQUEST_LIMIT_EXCEEDED"),
        ("api_disabled", sf.ApiDisabled, "API_DISABLED_FOR_ORG"),
    ],
)
def test_metadata_api_faults_are_named(salesforce, org, knob, error, code):
    setattr(salesforce.knobs, knob, True)

    with pytest.raises(error) as caught:
        sf.start_deploy(org, make_package(), check_only=False, test_level="NoTestRun")

    assert caught.value.code == code


def test_an_unknown_deploy_id_is_an_api_error(org):
    with pytest.raises(sf.ApiError, match="INVALID_ID_FIELD"):
        sf.deploy_status(org, "0Af000000000000AAA")
