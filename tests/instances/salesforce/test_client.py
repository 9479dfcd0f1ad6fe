"""The org client against the stand-in org over real HTTPS: logging in with every auth method,
TLS, reading the org's facts, and every way an org refuses."""

from __future__ import annotations

import datetime as dt
import socket
from urllib.parse import parse_qs

import jwt
import pytest
import requests

from instances import salesforce as sf
from instances.models import OrgType
from tests.salesforce_standin.connections import (
    CONNECTIONS,
    USERNAME,
    jwt_connection,
    password_connection,
    sfdx_auth_url,
    sfdx_connection,
    token_connection,
)
from tests.salesforce_standin.keys import make_key_pair

pytest_plugins = ["tests.salesforce_standin.plugin"]

METHODS = list(CONNECTIONS)


# --------------------------------------------------------------------------- logging in


@pytest.mark.parametrize("method", METHODS)
def test_it_connects_with_every_auth_method_and_reads_the_org(salesforce, method):
    connection = CONNECTIONS[method](salesforce)

    facts = sf.test_connection(connection.credentials(), ca_bundle=salesforce.ca_path)

    assert facts.org_id == "00D5g000004ABCDEAZ"
    assert facts.name == "Acme Corporation"
    assert facts.org_type == OrgType.SANDBOX
    assert facts.instance_url == salesforce.url
    assert facts.limits["DailyApiRequests"] == {"Max": 15000, "Remaining": 14873}
    assert set(facts.limits) >= {"DataStorageMB", "FileStorageMB", "DailyAsyncApexExecutions"}
    assert "HourlyODataCallout" not in facts.limits  # only the limits that matter
    query = salesforce.calls("query")[0]
    assert "FROM Organization" in parse_qs(query.path.partition("?")[2])["q"][0]
    assert query.headers["Authorization"] == f"Bearer {salesforce.issued_sessions[-1]}"


def test_it_logs_in_from_plain_credentials_without_any_database_row(salesforce):
    user = salesforce.users[USERNAME]
    credentials = sf.Credentials(
        auth_method=sf.AuthMethod.PASSWORD,
        login_url=salesforce.url,
        username=user.username,
        password=user.password,
        security_token=user.security_token,
    )
    assert user.password not in repr(credentials)
    org = sf.connect(credentials, ca_bundle=salesforce.ca_path)
    assert org.instance_url.startswith("https://")


def test_it_logs_in_with_password_and_token_over_the_soap_partner_login(salesforce):
    sf.connect(password_connection(salesforce).credentials(), ca_bundle=salesforce.ca_path)

    (login,) = salesforce.calls("login")
    assert login.path == f"/services/Soap/u/{sf.SOAP_LOGIN_LAST_VERSION}"
    assert login.headers["SOAPAction"] == "login"
    assert "<n1:username>ci@acme.example</n1:username>" in login.text
    assert "<n1:password>s3cret-Passw0rdTOKENabc123XYZ456</n1:password>" in login.text


def test_it_logs_in_without_a_token_from_an_allow_listed_network(salesforce):
    salesforce.users[USERNAME].security_token = ""

    org = sf.connect(
        password_connection(salesforce, security_token="").credentials(),
        ca_bundle=salesforce.ca_path,
    )

    assert org.logins == 1
    assert "<urn:password>s3cret-Passw0rd</urn:password>" in salesforce.calls("login")[0].text


def test_it_signs_a_jwt_bearer_assertion_for_the_login_host(salesforce):
    sf.connect(jwt_connection(salesforce).credentials(), ca_bundle=salesforce.ca_path)

    (token_call,) = salesforce.calls("token")
    form = {k: v[0] for k, v in parse_qs(token_call.text).items()}
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    claims = jwt.decode(
        form["assertion"],
        salesforce.jwt_public_key,
        algorithms=["RS256"],
        audience=salesforce.url,
    )
    assert claims["iss"] == salesforce.consumer_key
    assert claims["sub"] == USERNAME
    assert 0 < claims["exp"] - dt.datetime.now(dt.UTC).timestamp() <= 180


def test_it_exchanges_the_sfdx_auth_url_refresh_token_at_its_instance(salesforce):
    sf.connect(sfdx_connection(salesforce).credentials(), ca_bundle=salesforce.ca_path)

    (token_call,) = salesforce.calls("token")
    form = {k: v[0] for k, v in parse_qs(token_call.text).items()}
    assert form == {
        "grant_type": "refresh_token",
        "client_id": salesforce.consumer_key,
        "client_secret": salesforce.client_secret,
        "refresh_token": "5Aep861standin.refresh.token",
    }


def test_an_access_token_needs_no_login(salesforce):
    org = sf.connect(token_connection(salesforce).credentials(), ca_bundle=salesforce.ca_path)

    assert salesforce.requests == []
    assert org.instance_url == salesforce.url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("force://PlatformCLI::5Aep861abc.def@acme.my.salesforce.com", ("PlatformCLI", "")),
        ("force://3MVGid:s3cr3t:5Aep861abc@https://acme.my.salesforce.com/", ("3MVGid", "s3cr3t")),
        ("force://5Aep861abc@acme.my.salesforce.com", ("PlatformCLI", "")),
    ],
)
def test_it_parses_sfdx_auth_urls(url, expected):
    parsed = sf.parse_sfdx_auth_url(url)

    assert (parsed.client_id, parsed.client_secret.reveal()) == expected
    assert parsed.refresh_token.reveal().startswith("5Aep861abc")
    assert parsed.instance_url == "https://acme.my.salesforce.com"


@pytest.mark.parametrize(
    ("login_url", "audience"),
    [
        ("https://login.salesforce.com", "https://login.salesforce.com"),
        ("https://test.salesforce.com", "https://test.salesforce.com"),
        ("https://acme.my.salesforce.com", "https://login.salesforce.com"),
        ("https://acme--uat.sandbox.my.salesforce.com", "https://test.salesforce.com"),
        ("https://acme--uat.my.salesforce.com", "https://test.salesforce.com"),
        ("https://fun-dream-42.scratch.my.salesforce.com", "https://test.salesforce.com"),
        ("https://127.0.0.1:8443/", "https://127.0.0.1:8443"),
    ],
)
def test_the_jwt_audience_follows_the_login_host(login_url, audience):
    assert sf.jwt_audience(login_url) == audience


# --------------------------------------------------------------------------- TLS


@pytest.mark.parametrize("method", METHODS)
def test_it_refuses_a_certificate_it_cannot_verify(salesforce, method):
    connection = CONNECTIONS[method](salesforce)

    with pytest.raises(sf.TlsVerificationFailed) as caught:
        sf.test_connection(connection.credentials())  # no CA bundle: the stand-in's CA is unknown

    assert "could not be verified" in caught.value.message
    assert "SALESFORCE_CA_BUNDLE" in caught.value.message
    assert salesforce.requests == []  # the handshake failed before any request


def test_the_ca_bundle_wins_over_the_environment(salesforce, monkeypatch, tmp_path):
    # requests lets REQUESTS_CA_BUNDLE override session.verify; the client must not.
    other = tmp_path / "other-ca.pem"
    other.write_text(make_other_ca())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(other))

    facts = sf.test_connection(
        password_connection(salesforce).credentials(), ca_bundle=salesforce.ca_path
    )

    assert facts.org_id


def test_a_callers_session_cannot_turn_verification_off(salesforce):
    insecure = requests.Session()
    insecure.verify = False

    with pytest.raises(sf.TlsVerificationFailed):
        sf.connect(password_connection(salesforce).credentials(), session=insecure)


def test_a_callers_session_keeps_its_own_ca_bundle(salesforce):
    session = requests.Session()
    session.verify = salesforce.ca_path

    org = sf.connect(password_connection(salesforce).credentials(), session=session)

    assert org.logins == 1


def make_other_ca() -> str:
    import trustme

    return trustme.CA().cert_pem.bytes().decode()


# --------------------------------------------------------------------------- refusals


def test_a_wrong_password_is_an_invalid_login(salesforce):
    connection = password_connection(salesforce, password="not-the-password")

    with pytest.raises(sf.LoginFailed) as caught:
        sf.connect(connection.credentials(), ca_bundle=salesforce.ca_path)

    assert caught.value.code == "INVALID_LOGIN"
    assert caught.value.message.startswith(
        "Salesforce refused the username, password or security token for ci@acme.example"
    )
    assert "security token" in caught.value.message


def test_a_jwt_signed_with_another_key_is_refused(salesforce):
    connection = jwt_connection(salesforce, private_key=make_key_pair().private_pem)

    with pytest.raises(sf.LoginFailed) as caught:
        sf.connect(connection.credentials(), ca_bundle=salesforce.ca_path)

    assert caught.value.code == "invalid_grant"
    assert "invalid assertion" in caught.value.message


def test_a_jwt_for_an_unapproved_user_says_how_to_approve_it(salesforce):
    connection = jwt_connection(salesforce, username="someone@else.example")

    with pytest.raises(sf.LoginFailed) as caught:
        sf.connect(connection.credentials(), ca_bundle=salesforce.ca_path)

    assert "user hasn't approved this consumer" in caught.value.message
    assert "pre-authorized" in caught.value.message


def test_a_jwt_with_the_wrong_consumer_key_is_refused(salesforce):
    connection = jwt_connection(salesforce, consumer_key="3MVGwrong")

    with pytest.raises(sf.LoginFailed) as caught:
        sf.connect(connection.credentials(), ca_bundle=salesforce.ca_path)

    assert caught.value.code == "invalid_client_id"
    assert "consumer key" in caught.value.message


def test_a_revoked_refresh_token_asks_for_a_new_sfdx_auth_url(salesforce):
    connection = sfdx_connection(
        salesforce, sfdx_auth_url=sfdx_auth_url(salesforce, refresh_token="5Aep861revoked")
    )

    with pytest.raises(sf.LoginFailed) as caught:
        sf.connect(connection.credentials(), ca_bundle=salesforce.ca_path)

    assert "expired access/refresh token" in caught.value.message
    assert "sf org display --verbose" in caught.value.message


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        ({"auth_method": "password", "username": "", "password": "x"}, "username"),
        ({"auth_method": "jwt", "username": "u", "consumer_key": "k"}, "private key"),
        ({"auth_method": "sfdx_url"}, "SFDX auth URL"),
        ({"auth_method": "access_token", "access_token": "00Dx!tok"}, "instance URL"),
    ],
)
def test_an_incomplete_connection_says_what_it_lacks(fields, missing):
    from instances.models import OrgConnection

    with pytest.raises(sf.ConnectionIncomplete, match=missing):
        sf.connect(OrgConnection(**fields).credentials())


def test_a_private_key_that_is_not_pem_is_refused_before_any_request(salesforce):
    connection = jwt_connection(salesforce, private_key="MIIEvQIBADANBgkqhkiG9w0BAQEFAASC")

    with pytest.raises(sf.ConnectionIncomplete) as caught:
        sf.connect(connection.credentials(), ca_bundle=salesforce.ca_path)

    assert "PEM" in caught.value.message
    assert "MIIEvQ" not in caught.value.message
    assert salesforce.requests == []


def test_a_malformed_sfdx_auth_url_is_refused():
    from instances.models import OrgConnection

    connection = OrgConnection(auth_method="sfdx_url", sfdx_auth_url="https://not-force")
    with pytest.raises(sf.ConnectionIncomplete, match="force://"):
        sf.connect(connection.credentials())


@pytest.mark.parametrize("method", ["password", "jwt"])
def test_an_org_without_api_access_says_so(salesforce, method):
    salesforce.knobs.api_disabled = True

    with pytest.raises(sf.ApiDisabled) as caught:
        sf.test_connection(
            CONNECTIONS[method](salesforce).credentials(), ca_bundle=salesforce.ca_path
        )

    assert caught.value.code == "API_DISABLED_FOR_ORG"
    assert "API Enabled" in caught.value.message


def test_an_exhausted_request_limit_says_so(salesforce):
    org = sf.connect(jwt_connection(salesforce).credentials(), ca_bundle=salesforce.ca_path)
    salesforce.knobs.request_limit_exceeded = True

    with pytest.raises(sf.RequestLimitExceeded) as caught:
        sf.org_facts(org)

    assert caught.value.code == "REQUEST_LIMIT_EXCEEDED"
    assert "used up its API requests for the last 24 hours" in caught.value.message
    assert "TotalRequests Limit exceeded." in caught.value.message
    assert not caught.value.retryable


def test_an_exhausted_request_limit_refuses_the_soap_login_too(salesforce):
    salesforce.knobs.request_limit_exceeded = True

    with pytest.raises(sf.RequestLimitExceeded):
        sf.connect(password_connection(salesforce).credentials(), ca_bundle=salesforce.ca_path)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_means_the_org_is_unavailable(salesforce, method, status):
    salesforce.knobs.server_error = status

    with pytest.raises(sf.OrgUnavailable) as caught:
        sf.test_connection(
            CONNECTIONS[method](salesforce).credentials(), ca_bundle=salesforce.ca_path
        )

    assert f"HTTP {status}" in caught.value.message
    assert "Try again later" in caught.value.message
    assert caught.value.retryable


def test_a_closed_port_means_the_org_is_unreachable(settings):
    from instances.models import OrgConnection

    settings.SALESFORCE_EXTRA_HOSTS = ["127.0.0.1"]  # a loopback "org" must be allowed

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    connection = OrgConnection(
        auth_method="password",
        login_url=f"https://127.0.0.1:{port}",
        username="u@example.com",
        password="a-password",
    )

    with pytest.raises(sf.OrgUnreachable, match=f"Could not connect to 127.0.0.1:{port}"):
        sf.connect(connection.credentials(), timeout=5)


# --------------------------------------------------------------------------- expired sessions


@pytest.mark.parametrize("method", ["password", "jwt", "sfdx_url"])
def test_an_expired_session_is_renewed_once_and_the_call_repeated(salesforce, method):
    org = sf.connect(CONNECTIONS[method](salesforce).credentials(), ca_bundle=salesforce.ca_path)
    salesforce.expire_sessions()
    login = "login" if method == "password" else "token"

    facts = sf.org_facts(org)

    assert facts.org_id
    assert org.logins == 2
    assert salesforce.operations() == [login, "query", login, "query", "limits"]


def test_an_expired_access_token_cannot_be_renewed(salesforce):
    org = sf.connect(token_connection(salesforce).credentials(), ca_bundle=salesforce.ca_path)
    salesforce.expire_sessions()

    with pytest.raises(sf.SessionExpired) as caught:
        sf.org_facts(org)

    assert "access token" in caught.value.message
    assert "Enter a new one" in caught.value.message
    assert salesforce.operations() == ["query"]


def test_a_session_refused_right_after_a_new_login_is_not_retried_forever(salesforce):
    org = sf.connect(password_connection(salesforce).credentials(), ca_bundle=salesforce.ca_path)
    salesforce.knobs.reject_sessions = True

    with pytest.raises(sf.SessionExpired, match="refused a fresh session"):
        sf.org_facts(org)

    assert salesforce.operations() == ["login", "query", "login", "query"]


# --------------------------------------------------------------------------- org facts


@pytest.mark.parametrize(
    ("organization", "org_type", "expires_on"),
    [
        ({"is_sandbox": False}, OrgType.PRODUCTION, None),
        ({"is_sandbox": True}, OrgType.SANDBOX, None),
        (
            {"is_sandbox": True, "trial_expiration": "2027-01-15T23:59:59.000+0000"},
            OrgType.SCRATCH,
            dt.date(2027, 1, 15),
        ),
        ({"is_sandbox": False, "organization_type": "Developer Edition"}, OrgType.DEVELOPER, None),
    ],
)
def test_it_tells_the_kind_of_org(salesforce, organization, org_type, expires_on):
    for name, value in organization.items():
        setattr(salesforce.org, name, value)

    facts = sf.test_connection(
        jwt_connection(salesforce).credentials(), ca_bundle=salesforce.ca_path
    )

    assert facts.org_type == org_type
    assert facts.expires_on == expires_on


def test_the_facts_are_recorded_on_the_connection(salesforce):
    salesforce.org.is_sandbox = False
    connection = jwt_connection(salesforce, last_check_error="old failure")
    facts = sf.test_connection(connection.credentials(), ca_bundle=salesforce.ca_path)

    fields = connection.apply_facts(facts)

    assert connection.org_id == "00D5g000004ABCDEAZ"
    assert connection.detected_org_type == OrgType.PRODUCTION
    assert connection.api_limits["FileStorageMB"] == {"Max": 10240, "Remaining": 10200}
    assert connection.last_checked_at is not None
    assert connection.last_check_error == ""
    assert set(fields) == {
        "org_id",
        "detected_org_type",
        "expires_on",
        "api_limits",
        "last_checked_at",
        "last_check_error",
    }
