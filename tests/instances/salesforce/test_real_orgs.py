"""What real orgs do that a naive client and stand-in miss: production test levels, the end of
SOAP login(), warnings on deletions, coverage failures, JWT-based access tokens, and the
shapes real clients send and real orgs answer (docs/salesforce.md, "Evidence")."""

from __future__ import annotations

import http.client
import ssl
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from instances import salesforce as sf
from tests.salesforce_standin.connections import (
    client_credentials_connection,
    jwt_connection,
    password_connection,
)
from tests.salesforce_standin.packages import make_package

pytest_plugins = ["tests.salesforce_standin.plugin"]

MD = "{http://soap.sforce.com/2006/04/metadata}"
SOAPENV = "{http://schemas.xmlsoap.org/soap/envelope/}"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


def finish(org, deploy_id):
    return sf.wait(org, deploy_id, timeout=10, poll=0.01)


def soap(salesforce, path, body: str) -> requests.Response:
    """A request written by hand, the way another client writes it."""
    return requests.post(
        f"{salesforce.url}{path}",
        data=body.encode(),
        headers={"Content-Type": "text/xml", "SOAPAction": '""'},
        verify=salesforce.ca_path,
        timeout=10,
    )


def jsforce_style(session_id: str, operation: str, inner: str) -> str:
    """An envelope as jsforce writes it: the Metadata namespace declared on Header and Body."""
    ns = "http://soap.sforce.com/2006/04/metadata"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f'<soapenv:Header xmlns="{ns}"><SessionHeader><sessionId>{session_id}</sessionId>'
        "</SessionHeader></soapenv:Header>"
        f'<soapenv:Body xmlns="{ns}"><{operation}>{inner}</{operation}></soapenv:Body>'
        "</soapenv:Envelope>"
    )


def status_xml(salesforce, org, deploy_id) -> ET.Element:
    body = jsforce_style(
        org.grant.access_token.reveal(),
        "checkDeployStatus",
        f"<asyncProcessId>{deploy_id}</asyncProcessId><includeDetails>true</includeDetails>",
    )
    answer = soap(salesforce, f"/services/Soap/m/{sf.API_VERSION}", body)
    assert answer.status_code == 200, answer.text
    return ET.fromstring(answer.content).find(
        f"{SOAPENV}Body/{MD}checkDeployStatusResponse/{MD}result"
    )


# --------------------------------------------------------------------------- 1. test levels


def test_a_production_org_refuses_no_test_run(salesforce, org):
    salesforce.org.is_sandbox = False

    with pytest.raises(sf.TestLevelRefused) as caught:
        sf.start_deploy(org, make_package(), check_only=False, test_level="NoTestRun")

    assert caught.value.code == "INVALID_OPERATION"
    assert "testLevel of NoTestRun cannot be used in production organizations" in (
        caught.value.message
    )
    assert "RunLocalTests" in caught.value.message
    assert salesforce.deployments == {}


@pytest.mark.parametrize("edition", ["sandbox", "Developer Edition", "scratch"])
def test_other_orgs_accept_no_test_run(salesforce, org, edition):
    salesforce.org.is_sandbox = edition != "Developer Edition"
    if edition == "Developer Edition":
        salesforce.org.organization_type = edition
    if edition == "scratch":
        salesforce.org.trial_expiration = "2027-01-15T23:59:59.000+0000"

    status = finish(
        org, sf.start_deploy(org, make_package(), check_only=False, test_level="NoTestRun")
    )

    assert status.succeeded and status.tests_total == 0


def test_production_accepts_the_local_tests(salesforce, org):
    salesforce.org.is_sandbox = False

    status = finish(
        org, sf.start_deploy(org, make_package(), check_only=False, test_level="RunLocalTests")
    )

    assert status.succeeded and status.tests_total == 3


def test_the_test_level_rules_per_org_type():
    assert sf.default_test_level("production") == "RunLocalTests"
    assert sf.default_test_level("sandbox") == "NoTestRun"
    assert "NoTestRun" not in sf.allowed_test_levels("production")
    assert set(sf.allowed_test_levels("scratch")) == set(sf.TestLevel)
    sf.check_test_level("developer", "NoTestRun")
    with pytest.raises(sf.TestLevelRefused, match="production org refuses NoTestRun"):
        sf.check_test_level("production", "NoTestRun")


# --------------------------------------------------------------------------- 2. SOAP login()


@pytest.mark.parametrize("version", ["65.0", "66.0", "68.0"])
def test_the_org_has_no_soap_login_from_api_65(salesforce, version):
    user = salesforce.users["ci@acme.example"]
    body = (
        '<se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Body>'
        f'<login xmlns="urn:partner.soap.sforce.com"><username>{user.username}</username>'
        f"<password>{user.password}{user.security_token}</password></login>"
        "</se:Body></se:Envelope>"
    )

    answer = soap(salesforce, f"/services/Soap/u/{version}", body)

    assert answer.status_code == 500
    assert "<faultcode>sf:INVALID_OPERATION</faultcode>" in answer.text
    assert f"not available in the API version specified ({version})" in answer.text
    assert soap(salesforce, "/services/Soap/u/64.0", body).status_code == 200


def test_password_login_stays_on_a_version_that_has_it(salesforce):
    org = sf.connect(
        password_connection(salesforce).credentials(),
        ca_bundle=salesforce.ca_path,
        api_version="66.0",
    )

    finish(org, sf.start_deploy(org, make_package(), check_only=False, test_level="NoTestRun"))

    (login,) = salesforce.calls("login")
    assert login.path == f"/services/Soap/u/{sf.SOAP_LOGIN_LAST_VERSION}"
    assert {call.path for call in salesforce.calls("deploy")} == {"/services/Soap/m/66.0"}


def test_an_org_with_soap_login_turned_off_says_what_to_use_instead(salesforce):
    salesforce.knobs.soap_login_disabled = True

    with pytest.raises(sf.SoapLoginUnavailable) as caught:
        sf.connect(password_connection(salesforce).credentials(), ca_bundle=salesforce.ca_path)

    message = caught.value.message
    assert "SOAP API login() is disabled by default in this org" in message
    assert "Summer '27" in message
    assert "JWT bearer" in message and "client credentials" in message
    assert "SFDX auth URL" in message


# --------------------------------------------------------------------------- 3. warnings


def test_deleting_what_the_org_lacks_fails_with_warnings_off(salesforce, org):
    package = make_package(destructive={"ApexClass": ["LegacyService", "NeverThere"]})

    status = finish(
        org,
        sf.start_deploy(
            org, package, check_only=False, test_level="NoTestRun", ignore_warnings=False
        ),
    )

    assert status.status == "Failed" and not status.succeeded
    assert status.component_errors == 0  # a warning, not an error
    assert [str(w) for w in status.warnings] == [
        "destructiveChanges.xml: No ApexClass named: NeverThere found"
    ]
    assert status.failure_reason() == ("1 warning treated as errors (ignoreWarnings is off).")
    assert "LegacyService" in salesforce.org.components["ApexClass"]  # rolled back


def test_with_warnings_ignored_the_deletion_goes_through_and_the_warning_is_kept(salesforce, org):
    package = make_package(destructive={"ApexClass": ["LegacyService", "NeverThere"]})

    status = finish(
        org,
        sf.start_deploy(
            org, package, check_only=False, test_level="NoTestRun", ignore_warnings=True
        ),
    )

    assert status.succeeded
    assert [w.problem for w in status.warnings] == ["No ApexClass named: NeverThere found"]
    assert "LegacyService" not in salesforce.org.components["ApexClass"]
    (deploy,) = salesforce.calls("deploy")
    assert "<met:ignoreWarnings>true</met:ignoreWarnings>" in deploy.text


# --------------------------------------------------------------------------- 4. coverage


def test_a_coverage_failure_has_a_reason_with_the_classes(salesforce, org):
    salesforce.org.is_sandbox = False
    salesforce.knobs.coverage = {"InvoiceService": (20, 10)}
    package = make_package(
        {
            "InvoiceService": "public class InvoiceService {}\n",
            "InvoiceServiceTest": "@isTest class InvoiceServiceTest {}\n",
        }
    )

    status = finish(org, sf.start_deploy(org, package, check_only=True, test_level="RunLocalTests"))

    assert status.status == "Failed" and status.done
    assert (status.component_errors, status.test_errors, status.test_failures) == (0, 0, ())
    assert status.failed_on_coverage
    assert status.coverage == (sf.CodeCoverage("InvoiceService", "Class", 20, 10),)
    assert [str(c) for c in status.low_coverage] == ["InvoiceService: 50% (10/20 lines)"]
    assert status.failure_reason() == (
        "Code coverage below Salesforce's requirement (InvoiceService: 50% (10/20 lines)): "
        "Average test coverage across all Apex Classes and Triggers is 50%, at least 75% "
        "test coverage is required."
    )
    assert status.summary().splitlines()[1] == status.failure_reason()


def test_run_specified_tests_needs_each_class_covered(salesforce, org):
    salesforce.org.is_sandbox = False
    salesforce.knobs.coverage = {"InvoiceService": (40, 12)}

    status = finish(
        org,
        sf.start_deploy(
            org,
            make_package(),
            check_only=True,
            test_level="RunSpecifiedTests",
            run_tests=["InvoiceServiceTest"],
        ),
    )

    assert status.failed_on_coverage
    assert [str(w) for w in status.coverage_warnings] == [
        "InvoiceService: Test coverage of selected Apex Class is 70%, at least 75% test "
        "coverage is required"
    ]


def test_a_sandbox_reports_coverage_without_enforcing_it(salesforce, org):
    salesforce.knobs.coverage = {"InvoiceService": (20, 19)}

    status = finish(
        org, sf.start_deploy(org, make_package(), check_only=False, test_level="RunLocalTests")
    )

    assert status.succeeded
    assert [c.percent for c in status.coverage] == [5]


# --------------------------------------------------------------------------- 5. JWT tokens


def test_jwt_access_tokens_are_refused_by_the_metadata_api_below_68(salesforce):
    salesforce.knobs.jwt_access_tokens = True
    org = sf.connect(jwt_connection(salesforce).credentials(), ca_bundle=salesforce.ca_path)
    assert sf.is_jwt_token(org.grant.access_token.reveal())
    assert sf.org_facts(org).org_id  # REST takes them

    with pytest.raises(sf.JwtAccessTokenRefused) as caught:
        sf.start_deploy(org, make_package(), check_only=False, test_level="NoTestRun")

    message = caught.value.message
    assert caught.value.code == "INVALID_SESSION_ID"
    assert "JWT" in message and "68.0" in message
    assert "Issue JSON Web Token (JWT)-based access tokens" in message
    assert "frozen" not in message
    assert org.logins == 1  # no pointless re-login
    assert len(salesforce.calls("deploy")) == 1


def test_jwt_access_tokens_work_from_api_68(salesforce):
    salesforce.knobs.jwt_access_tokens = True
    org = sf.connect(
        jwt_connection(salesforce).credentials(), ca_bundle=salesforce.ca_path, api_version="68.0"
    )

    status = finish(
        org, sf.start_deploy(org, make_package(), check_only=False, test_level="NoTestRun")
    )

    assert status.succeeded


def test_classic_session_ids_are_not_jwts(salesforce, org):
    assert not sf.is_jwt_token(org.grant.access_token.reveal())
    assert not sf.is_jwt_token("a.b.c")


# --------------------------------------------------------------------------- 6. the wire


def test_a_chunked_token_request_is_answered(salesforce):
    parts = urlsplit(salesforce.url)
    connection = http.client.HTTPSConnection(
        parts.hostname,
        parts.port,
        context=ssl.create_default_context(cafile=salesforce.ca_path),
        timeout=10,
    )
    form = urlencode(
        {
            "grant_type": "refresh_token",
            "client_id": salesforce.consumer_key,
            "client_secret": salesforce.client_secret,
            "refresh_token": next(iter(salesforce.refresh_tokens)),
        }
    ).encode()
    chunks = iter([form[:10], form[10:]])
    connection.request(
        "POST",
        "/services/oauth2/token",
        body=chunks,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        encode_chunked=True,
    )
    answer = connection.getresponse()

    assert answer.status == 200
    assert b'"access_token"' in answer.read()
    assert salesforce.calls("token")[0].headers["Transfer-Encoding"] == "chunked"


def test_a_body_that_declares_the_namespace_is_understood(salesforce, org):
    deploy_id = sf.start_deploy(org, make_package(), check_only=False, test_level="NoTestRun")

    result = status_xml(salesforce, org, deploy_id)

    assert result.findtext(f"{MD}id") == deploy_id
    assert salesforce.operations()[-1] == "checkDeployStatus"


def test_cancel_deploy_takes_the_id_element_the_cli_sends(salesforce, org):
    salesforce.knobs.deploy_never_finishes = True
    deploy_id = sf.start_deploy(org, make_package(), check_only=False, test_level="NoTestRun")
    sf.deploy_status(org, deploy_id)
    body = jsforce_style(org.grant.access_token.reveal(), "cancelDeploy", f"<id>{deploy_id}</id>")

    answer = soap(salesforce, f"/services/Soap/m/{sf.API_VERSION}", body)
    seen = []
    sf.wait(org, deploy_id, timeout=10, poll=0.01, on_progress=seen.append)

    assert answer.status_code == 200 and "<done>false</done>" in answer.text
    assert [s.status for s in seen] == ["Canceling", "Canceled"]
    assert seen[-1].canceled_by == "Integration User"
    assert seen[-1].failure_reason() == "Canceled by Integration User."


def test_a_queued_deployment_is_canceled_at_once(salesforce, org):
    deploy_id = sf.start_deploy(org, make_package(), check_only=False, test_level="NoTestRun")

    assert sf.cancel_deploy(org, deploy_id) is True
    assert sf.deploy_status(org, deploy_id).status == "Canceled"


def test_a_finished_deployment_reports_what_real_orgs_report(salesforce, org):
    deploy_id = sf.start_deploy(org, make_package(), check_only=False, test_level="NoTestRun")
    finish(org, deploy_id)

    result = status_xml(salesforce, org, deploy_id)

    tests = result.find(f"{MD}details/{MD}runTestResult")
    assert tests is not None  # sent when no test ran
    assert [child.tag.removeprefix(MD) for child in tests] == [
        "numFailures",
        "numTestsRun",
        "totalTime",
    ]
    assert tests.findtext(f"{MD}numTestsRun") == "0"
    successes = result.findall(f"{MD}details/{MD}componentSuccesses")
    assert [s.findtext(f"{MD}fullName") for s in successes] == ["package.xml", "InvoiceService"]
    assert successes[1].findtext(f"{MD}fileName") == "classes/InvoiceService.cls"
    assert successes[1].findtext(f"{MD}created") == "false"  # the org had it


def test_nil_fields_are_read_as_empty(salesforce, org):
    salesforce.org.is_sandbox = False
    salesforce.knobs.deploy_outcome = "test_failures"
    salesforce.knobs.test_failures = [{"name": "InvoiceServiceTest", "message": "boom"}]
    deploy_id = sf.start_deploy(org, make_package(), check_only=True, test_level="RunLocalTests")
    status = finish(org, deploy_id)

    failure = status_xml(salesforce, org, deploy_id).find(
        f"{MD}details/{MD}runTestResult/{MD}failures"
    )

    assert failure.find(f"{MD}namespace").get(XSI_NIL) == "true"
    assert failure.find(f"{MD}stackTrace").get(XSI_NIL) == "true"
    assert status.test_failures == (
        sf.TestFailure(class_name="InvoiceServiceTest", method="", message="boom", stack_trace=""),
    )
    assert status.failure_reason() == "1 test failure."


def test_component_failures_count_even_when_the_org_says_zero(salesforce, org):
    salesforce.knobs.deploy_outcome = "component_errors"
    salesforce.knobs.count_component_errors = False
    deploy_id = sf.start_deploy(org, make_package(), check_only=False, test_level="NoTestRun")
    status = finish(org, deploy_id)

    assert status_xml(salesforce, org, deploy_id).findtext(f"{MD}numberComponentErrors") == "0"
    assert status.component_errors == 2
    assert status.failure_reason() == "2 component errors."


def test_succeeded_partial_is_not_a_success(salesforce, org):
    salesforce.knobs.deploy_outcome = "component_errors"
    zip_b64 = __import__("base64").b64encode(make_package()).decode()
    body = jsforce_style(
        org.grant.access_token.reveal(),
        "deploy",
        f"<ZipFile>{zip_b64}</ZipFile><DeployOptions><rollbackOnError>false</rollbackOnError>"
        "<singlePackage>true</singlePackage><testLevel>NoTestRun</testLevel></DeployOptions>",
    )
    answer = soap(salesforce, f"/services/Soap/m/{sf.API_VERSION}", body)
    deploy_id = ET.fromstring(answer.content).findtext(f".//{MD}id")

    status = finish(org, deploy_id)

    assert status.status == "SucceededPartial" and status.success
    assert not status.succeeded
    assert status.failure_reason().startswith("Only partly deployed (rollbackOnError was off)")


# --------------------------------------------------------------------------- OAuth flows


def test_the_authorize_page_hands_out_a_code_for_the_web_server_flow(salesforce):
    answer = requests.get(
        f"{salesforce.url}/services/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": salesforce.consumer_key,
            "redirect_uri": salesforce.redirect_uri,
            "state": "s1",
        },
        allow_redirects=False,
        verify=salesforce.ca_path,
        timeout=10,
    )
    location = urlsplit(answer.headers["Location"])
    code = parse_qs(location.query)["code"][0]

    token = requests.post(
        f"{salesforce.url}/services/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": salesforce.consumer_key,
            "client_secret": salesforce.client_secret,
            "redirect_uri": salesforce.redirect_uri,
        },
        verify=salesforce.ca_path,
        timeout=10,
    ).json()

    assert answer.status_code == 302 and parse_qs(location.query)["state"] == ["s1"]
    assert salesforce.valid(token["access_token"])
    assert token["refresh_token"] in salesforce.refresh_tokens


def test_the_client_credentials_flow_logs_in_as_the_run_as_user(salesforce):
    org = sf.connect(
        client_credentials_connection(salesforce).credentials(), ca_bundle=salesforce.ca_path
    )

    assert sf.org_facts(org).org_id == salesforce.org.org_id
    (token,) = salesforce.calls("token")
    assert parse_qs(token.text) == {
        "grant_type": ["client_credentials"],
        "client_id": [salesforce.consumer_key],
        "client_secret": [salesforce.client_secret],
    }


def test_the_client_credentials_flow_off_says_how_to_turn_it_on(salesforce):
    salesforce.knobs.client_credentials_user = None

    with pytest.raises(sf.LoginFailed) as caught:
        sf.connect(
            client_credentials_connection(salesforce).credentials(), ca_bundle=salesforce.ca_path
        )

    assert "Run As user" in caught.value.message
    assert salesforce.client_secret not in caught.value.message


@pytest.mark.parametrize("host", ["https://login.salesforce.com", "https://test.salesforce.com"])
def test_the_client_credentials_flow_needs_a_my_domain(salesforce, host):
    with pytest.raises(sf.ConnectionIncomplete, match="My Domain"):
        sf.connect(client_credentials_connection(salesforce, login_url=host).credentials())

    assert salesforce.requests == []
