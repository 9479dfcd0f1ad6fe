"""jsforce, an independent client (the Salesforce CLI is built on it), against the stand-in:
every auth method jsforce has, query and limits, and the Metadata API deploy calls through
progress, success, failures, coverage, quick deploy and cancel. Then what releasemgr sends for
the same operations, element by element against jsforce's requests and the Metadata API WSDL.

Node 22 and jsforce come from the npm registry into a cache (tests/interop/node.py); the tests
skip only when npm itself is missing. Differences are listed in docs/salesforce.md
("Requests: releasemgr, jsforce and the WSDL"); the assertions below pin each of them.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from instances import salesforce as sf
from tests.interop import node
from tests.salesforce_standin.connections import USERNAME, password_connection
from tests.salesforce_standin.packages import make_package

pytest_plugins = ["tests.salesforce_standin.plugin"]

DRIVER = Path(__file__).with_name("jsforce_driver.cjs")
VERSION = sf.API_VERSION
MD = "http://soap.sforce.com/2006/04/metadata"
PARTNER = "urn:partner.soap.sforce.com"
SOAPENV = "http://schemas.xmlsoap.org/soap/envelope/"

# The Metadata API WSDL (version 47.0, as jsforce ships it in src/api/metadata/wsdl.xml; the
# elements below are unchanged in the current Metadata API Developer Guide): each operation's
# parameters and DeployOptions, in their xsd:sequence order.
WSDL = {
    "deploy": ["ZipFile", "DeployOptions"],
    "checkDeployStatus": ["asyncProcessId", "includeDetails"],
    "deployRecentValidation": ["validationId"],
    "cancelDeploy": ["String"],
    "DeployOptions": [
        "allowMissingFiles",
        "autoUpdatePackage",
        "checkOnly",
        "ignoreWarnings",
        "performRetrieve",
        "purgeOnDelete",
        "rollbackOnError",
        "runTests",
        "singlePackage",
        "testLevel",
    ],
}


@pytest.fixture(scope="session")
def jsforce_env() -> node.NodeEnv:
    try:
        return node.ensure()
    except node.Unavailable as why:
        pytest.skip(f"jsforce interop: {why}")


def org_input(salesforce) -> dict[str, Any]:
    user = salesforce.users[USERNAME]
    return {
        "url": salesforce.url,
        "username": user.username,
        "password": user.password,
        "securityToken": user.security_token,
        "consumerKey": salesforce.consumer_key,
        "clientSecret": salesforce.client_secret,
        "privateKey": salesforce.jwt_private_key,
        "refreshToken": next(iter(salesforce.refresh_tokens)),
        "redirectUri": salesforce.redirect_uri,
        "accessToken": salesforce.new_session(USERNAME),
    }


def jsforce(env: node.NodeEnv, salesforce, **request: Any) -> Any:
    """Run one driver action; return its value, or raise with jsforce's error."""
    request.setdefault("method", "jwt")
    request.setdefault("version", VERSION)
    request.setdefault("loginVersion", sf.SOAP_LOGIN_LAST_VERSION)
    request["org"] = org_input(salesforce)
    process = subprocess.run(  # noqa: S603
        [str(env.node), str(DRIVER)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108
            "NODE_PATH": str(env.modules),
            "NODE_EXTRA_CA_CERTS": salesforce.ca_path,
        },
    )
    if not process.stdout:
        raise AssertionError(f"the driver printed nothing: {process.stderr[-2000:]}")
    answer = json.loads(process.stdout)
    if not answer["ok"]:
        raise JsforceError(answer["error"])
    return answer["value"]


class JsforceError(Exception):
    pass


def zip_b64(package: bytes | None = None) -> str:
    return base64.b64encode(package or make_package()).decode()


def options(**changes: Any) -> dict[str, Any]:
    """DeployOptions in the WSDL's order, as the product sends them."""
    values: dict[str, Any] = {
        "allowMissingFiles": False,
        "autoUpdatePackage": False,
        "checkOnly": False,
        "ignoreWarnings": False,
        "performRetrieve": False,
        "purgeOnDelete": False,
        "rollbackOnError": True,
        "singlePackage": True,
        "testLevel": "NoTestRun",
    }
    return values | changes


# --------------------------------------------------------------------------- logins


AUTH_METHODS = [
    "soap",
    "password",
    "jwt",
    "refresh_token",
    "authorization_code",
    "client_credentials",
    "access_token",
]


@pytest.mark.parametrize("method", AUTH_METHODS)
def test_jsforce_logs_in_queries_and_reads_limits(jsforce_env, salesforce, method):
    value = jsforce(jsforce_env, salesforce, method=method, action="read")

    assert value["instanceUrl"] == salesforce.url
    assert salesforce.valid(value["accessToken"])
    (record,) = value["records"]
    assert record["Id"] == salesforce.org.org_id and record["Name"] == "Acme Corporation"
    assert "DailyApiRequests" in value["limits"]
    assert salesforce.calls("query")[-1].path.startswith(f"/services/data/v{VERSION}/query")
    grants = [
        (call.text.partition("grant_type=")[2].partition("&")[0])
        for call in salesforce.calls("token")
    ]
    expected = {
        "soap": [],
        "password": ["password"],
        "jwt": ["urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"],
        "refresh_token": ["refresh_token"],
        "authorization_code": ["authorization_code"],
        "client_credentials": ["client_credentials"],
        "access_token": [],
    }
    assert grants == expected[method]
    if method == "soap":
        (login,) = salesforce.calls("login")
        assert login.path == f"/services/Soap/u/{sf.SOAP_LOGIN_LAST_VERSION}"
    if method == "refresh_token":
        # The dead token was refused first; jsforce refreshed it and asked again.
        assert [c.operation for c in salesforce.requests] == ["query", "token", "query", "limits"]


def test_jsforce_sends_its_oauth_and_login_posts_chunked(jsforce_env, salesforce):
    jsforce(jsforce_env, salesforce, method="soap", action="read")
    jsforce(jsforce_env, salesforce, method="jwt", action="read")

    (login,) = salesforce.calls("login")
    (token,) = salesforce.calls("token")
    for call in (login, token):
        assert call.header("Content-Length") == ""
        assert call.header("Transfer-Encoding") == "chunked"


def test_the_org_refuses_jsforce_a_soap_login_at_65(jsforce_env, salesforce):
    with pytest.raises(JsforceError, match=r"not available in the API version specified \(65.0\)"):
        jsforce(jsforce_env, salesforce, method="soap", action="read", loginVersion="65.0")


# --------------------------------------------------------------------------- deployments


def test_jsforce_follows_a_deployment_to_success(jsforce_env, salesforce):
    salesforce.knobs.deploy_polls = 3

    value = jsforce(jsforce_env, salesforce, action="deploy", zip=zip_b64(), options=options())

    assert value["progress"] == ["Pending", "InProgress", "InProgress"]
    result = value["result"]
    assert result["status"] == "Succeeded" and result["success"] is True and result["done"]
    assert result["numberComponentsDeployed"] == 4
    names = [s["fullName"] for s in result["details"]["componentSuccesses"]]
    assert names == ["package.xml", "InvoiceService"]
    assert result["details"]["runTestResult"]["numTestsRun"] == 0


def test_jsforce_reads_component_failures(jsforce_env, salesforce):
    salesforce.knobs.deploy_outcome = "component_errors"

    result = jsforce(jsforce_env, salesforce, action="deploy", zip=zip_b64(), options=options())[
        "result"
    ]

    assert result["status"] == "Failed" and result["success"] is False
    assert result["numberComponentErrors"] == 2
    failures = result["details"]["componentFailures"]
    assert [(f["fullName"], f["problemType"]) for f in failures] == [
        ("InvoiceService", "Error"),
        ("Invoice__c.Total__c", "Error"),
    ]
    assert failures[0]["lineNumber"] == 12 and failures[0]["success"] is False


def test_jsforce_reads_test_failures(jsforce_env, salesforce):
    salesforce.knobs.deploy_outcome = "test_failures"

    result = jsforce(
        jsforce_env,
        salesforce,
        action="deploy",
        zip=zip_b64(),
        options=options(checkOnly=True, testLevel="RunLocalTests"),
    )["result"]

    assert result["status"] == "Failed" and result["numberTestErrors"] == 1
    tests = result["details"]["runTestResult"]
    assert tests["numFailures"] == 1 and tests["numTestsRun"] == 3
    (failure,) = tests["failures"]
    assert failure["name"] == "InvoiceServiceTest" and failure["methodName"] == "testTotals"
    assert failure["namespace"] is None  # xsi:nil, read as null by jsforce's schema


def test_jsforce_reads_a_coverage_failure(jsforce_env, salesforce):
    salesforce.org.is_sandbox = False
    salesforce.knobs.coverage = {"InvoiceService": (20, 10)}

    result = jsforce(
        jsforce_env,
        salesforce,
        action="deploy",
        zip=zip_b64(),
        options=options(checkOnly=True, testLevel="RunLocalTests"),
    )["result"]

    assert result["status"] == "Failed" and result["success"] is False
    assert (result["numberComponentErrors"], result["numberTestErrors"]) == (0, 0)
    tests = result["details"]["runTestResult"]
    (warning,) = tests["codeCoverageWarnings"]
    assert warning["message"].startswith(
        "Average test coverage across all Apex Classes and Triggers is 50%"
    )
    assert warning["name"] is None  # the org-wide warning names no class
    (coverage,) = tests["codeCoverage"]
    assert (coverage["name"], coverage["numLocations"], coverage["numLocationsNotCovered"]) == (
        "InvoiceService",
        20,
        10,
    )


def test_production_refuses_jsforce_no_test_run(jsforce_env, salesforce):
    salesforce.org.is_sandbox = False

    with pytest.raises(JsforceError, match="testLevel of NoTestRun cannot be used in production"):
        jsforce(jsforce_env, salesforce, action="deploy", zip=zip_b64(), options=options())


def test_jsforce_quick_deploys_a_validation(jsforce_env, salesforce):
    value = jsforce(
        jsforce_env,
        salesforce,
        action="quick_deploy",
        zip=zip_b64(),
        options=options(checkOnly=True, testLevel="RunLocalTests"),
    )

    assert value["validation"]["status"] == "Succeeded"
    assert value["id"] != value["validation"]["id"]
    assert salesforce.deployments[value["id"]].quick_of == value["validation"]["id"]
    assert value["result"]["status"] == "Succeeded" and value["result"]["checkOnly"] is False


def test_jsforce_cancels_a_deployment(jsforce_env, salesforce):
    salesforce.knobs.deploy_never_finishes = True

    value = jsforce(jsforce_env, salesforce, action="cancel", zip=zip_b64(), options=options())

    assert value["before"]["done"] is False
    assert value["cancel"] == {"done": "false", "id": value["result"]["id"]}
    assert value["seen"] == ["Canceling", "Canceled"]
    assert value["result"]["canceledByName"] == "Integration User"


def test_jsforce_refuses_jwt_access_tokens_below_68_as_the_org_would(jsforce_env, salesforce):
    salesforce.knobs.jwt_access_tokens = True

    with pytest.raises(JsforceError, match="does not support JWT-based access tokens"):
        jsforce(jsforce_env, salesforce, action="deploy", zip=zip_b64(), options=options())
    value = jsforce(
        jsforce_env, salesforce, action="deploy", zip=zip_b64(), options=options(), version="68.0"
    )

    assert value["result"]["status"] == "Succeeded"


# --------------------------------------------------------------------------- requests compared


def envelope(call) -> tuple[list[str], ET.Element]:
    root = ET.fromstring(call.body)
    header = root.find(f"{{{SOAPENV}}}Header")
    (operation,) = list(root.find(f"{{{SOAPENV}}}Body"))
    return [child.tag for child in header if header is not None], operation


def shape(element: ET.Element) -> list[str]:
    """Qualified child names in order (namespace prefixes do not matter, names do)."""
    return [child.tag for child in element]


def product_calls(salesforce) -> dict[str, Any]:
    org = sf.connect(password_connection(salesforce).credentials(), ca_bundle=salesforce.ca_path)
    validation = sf.start_deploy(org, make_package(), check_only=True, test_level="RunLocalTests")
    sf.wait(org, validation, timeout=10, poll=0.01)
    sf.quick_deploy(org, validation)
    salesforce.knobs.deploy_never_finishes = True
    running = sf.start_deploy(org, make_package(), check_only=False, test_level="NoTestRun")
    sf.deploy_status(org, running)
    sf.cancel_deploy(org, running)
    return {
        name: salesforce.calls(name)[0]
        for name in (
            "login",
            "deploy",
            "checkDeployStatus",
            "deployRecentValidation",
            "cancelDeploy",
        )
    }


def jsforce_calls(env, salesforce) -> dict[str, Any]:
    salesforce.knobs.deploy_never_finishes = False
    before = len(salesforce.requests)
    jsforce(env, salesforce, method="soap", action="read")
    jsforce(
        env,
        salesforce,
        method="soap",
        action="quick_deploy",
        zip=zip_b64(),
        options=options(checkOnly=True, testLevel="RunLocalTests"),
    )
    salesforce.knobs.deploy_never_finishes = True
    jsforce(env, salesforce, method="soap", action="cancel", zip=zip_b64(), options=options())
    calls = salesforce.requests[before:]
    return {
        name: next(call for call in calls if call.operation == name)
        for name in (
            "login",
            "deploy",
            "checkDeployStatus",
            "deployRecentValidation",
            "cancelDeploy",
        )
    }


def test_the_product_and_jsforce_send_the_wsdl_s_requests(jsforce_env, salesforce):
    ours = product_calls(salesforce)
    theirs = jsforce_calls(jsforce_env, salesforce)

    # Where: the same endpoints and API versions (jsforce's default is 50.0: we pass ours;
    # login() at the last version that offers it).
    for name in ours:
        assert (
            ours[name].path
            == theirs[name].path
            == (
                f"/services/Soap/u/{sf.SOAP_LOGIN_LAST_VERSION}"
                if name == "login"
                else f"/services/Soap/m/{VERSION}"
            )
        )

    # The login: the partner namespace, username then password.
    _, our_login = envelope(ours["login"])
    _, their_login = envelope(theirs["login"])
    assert our_login.tag == their_login.tag == f"{{{PARTNER}}}login"
    assert (
        shape(our_login)
        == shape(their_login)
        == [
            f"{{{PARTNER}}}username",
            f"{{{PARTNER}}}password",
        ]
    )

    for name in ("deploy", "checkDeployStatus", "deployRecentValidation", "cancelDeploy"):
        our_headers, our_op = envelope(ours[name])
        their_headers, their_op = envelope(theirs[name])
        # Same qualified operation; ours names its namespace with a prefix (met:), jsforce's
        # declares it as the default namespace of Header and Body.
        assert our_op.tag == their_op.tag == f"{{{MD}}}{name}"
        assert b"<met:" in ours[name].body and b"<soapenv:Body xmlns=" in theirs[name].body
        # Headers: ours adds CallOptions (the client name) before the SessionHeader.
        assert our_headers == [f"{{{MD}}}CallOptions", f"{{{MD}}}SessionHeader"]
        assert their_headers == [f"{{{MD}}}SessionHeader"]
        # SOAPAction: ours names the operation, jsforce sends "" (both are accepted).
        assert ours[name].header("SOAPAction") == name
        assert theirs[name].header("SOAPAction") == '""'
        wsdl = [f"{{{MD}}}{part}" for part in WSDL[name]]
        assert shape(our_op) == wsdl
        if name == "cancelDeploy":
            # The one difference in a body: jsforce (and so the CLI) sends <id>, the WSDL and
            # we send <String>. Real orgs take both; so does the stand-in.
            assert shape(their_op) == [f"{{{MD}}}id"]
        else:
            assert shape(their_op) == wsdl

    # DeployOptions: every element, in the WSDL's order; jsforce writes whatever keys its
    # caller gives, in the caller's order (here the same ones, in the same order).
    our_options = ours["deploy"].body and envelope(ours["deploy"])[1].find(f"{{{MD}}}DeployOptions")
    their_options = envelope(theirs["deploy"])[1].find(f"{{{MD}}}DeployOptions")
    wsdl_options = [f"{{{MD}}}{part}" for part in WSDL["DeployOptions"] if part != "runTests"]
    assert shape(our_options) == shape(their_options) == wsdl_options
    assert [e.text for e in our_options] == [e.text for e in their_options]


def test_the_product_and_jsforce_send_the_same_oauth_forms(jsforce_env, salesforce):
    from urllib.parse import parse_qs

    from tests.salesforce_standin.connections import jwt_connection, sfdx_connection

    def forms() -> list[dict[str, list[str]]]:
        return [parse_qs(call.text) for call in salesforce.calls("token")]

    sf.connect(jwt_connection(salesforce).credentials(), ca_bundle=salesforce.ca_path)
    sf.connect(sfdx_connection(salesforce).credentials(), ca_bundle=salesforce.ca_path)
    ours = forms()
    jsforce(jsforce_env, salesforce, method="jwt", action="read")
    jsforce(jsforce_env, salesforce, method="refresh_token", action="read")
    theirs = forms()[2:]

    # JWT bearer: the grant and the assertion, nothing else, on both sides.
    assert set(ours[0]) == set(theirs[0]) == {"grant_type", "assertion"}
    assert ours[0]["grant_type"] == theirs[0]["grant_type"]
    # Refresh token: the same four fields.
    assert (
        set(ours[1])
        == set(theirs[1])
        == {
            "grant_type",
            "refresh_token",
            "client_id",
            "client_secret",
        }
    )
    # Both as application/x-www-form-urlencoded.
    for call in salesforce.calls("token"):
        assert call.header("Content-Type").startswith("application/x-www-form-urlencoded")
