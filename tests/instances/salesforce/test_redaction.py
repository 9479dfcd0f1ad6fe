"""No password, security token, private key, refresh token, client secret, access token or
session id in an exception, a log line or a repr — even when the org (or a proxy in front of
it) quotes them back."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from urllib.parse import parse_qs

import pytest

from instances import salesforce as sf
from tests.salesforce_standin.connections import (
    CONNECTIONS,
    jwt_connection,
    password_connection,
    sfdx_auth_url,
    sfdx_connection,
    token_connection,
)
from tests.salesforce_standin.keys import make_key_pair
from tests.salesforce_standin.packages import make_package

pytest_plugins = ["tests.salesforce_standin.plugin"]

WRONG_PASSWORD = "Wr0ng-Pa55"
REVOKED = "5Aep861gone"


# --------------------------------------------------------------------------- redact()


def test_it_redacts_secrets_in_every_wire_form():
    secret = "p&ss<w0rd> +/=!"
    text = (
        f"plain {secret} xml p&amp;ss&lt;w0rd&gt; +/=! url p%26ss%3Cw0rd%3E%20%2B%2F%3D%21 "
        f"form p%26ss%3Cw0rd%3E+%2B%2F%3D%21"
    )

    assert sf.redact(text, [secret]) == (
        "plain [redacted] xml [redacted] url [redacted] form [redacted]"
    )


def test_it_redacts_the_longest_form_first():
    assert sf.redact("sent hunter22TOKEN123", ["hunter22", "TOKEN123", "hunter22TOKEN123"]) == (
        "sent [redacted]"
    )


def test_it_redacts_each_line_of_a_private_key():
    pem = make_key_pair().private_pem
    line = pem.splitlines()[5]

    assert line not in sf.redact(f"the library said: bad key material {line}", [pem])
    assert sf.redact(f"key:\n{pem}", []) == "key:\n[redacted]\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sid 00D5g000004ABCD!AQ4AQFake.Session_Id-123 expired", "sid [redacted] expired"),
        ("Authorization: Bearer 00Dxx0000001gPL!AR8AQJXg5oj8", "Authorization: Bearer [redacted]"),
        ("<sessionId>abc.def</sessionId>", "<sessionId>[redacted]</sessionId>"),
        ("<met:sessionId>abc</met:sessionId>", "<met:sessionId>[redacted]</met:sessionId>"),
        ('{"access_token": "ya29.a0AfH6SMB"}', '{"access_token": "[redacted]"}'),
        ("refresh_token=5Aep861xyz&x=1", "refresh_token=[redacted]&x=1"),
        ("use force://Platform::5Aep861@acme.my.salesforce.com now", "use force://[redacted] now"),
    ],
)
def test_it_redacts_credentials_it_recognises_by_shape(text, expected):
    assert sf.redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Use the JWT bearer flow (JWT bearer or an SFDX auth URL).",
        "Invalid username, password, security token; or user locked out.",
        "Check the password: a password reset also resets the security token.",
    ],
)
def test_it_leaves_ordinary_messages_alone(text):
    assert sf.redact(text, ["abc", ""]) == text  # too short to be a secret: not redacted


# --------------------------------------------------------------------------- end to end


def secrets_of(salesforce) -> list[str]:
    """Everything secret the stand-in handed out or received."""
    user = salesforce.users["ci@acme.example"]
    secrets = [
        user.password,
        user.security_token,
        user.password + user.security_token,
        salesforce.client_secret,
        *salesforce.refresh_tokens,
        sfdx_auth_url(salesforce),
        *salesforce.issued_sessions,
        *[line for line in salesforce.jwt_private_key.splitlines() if "-----" not in line],
    ]
    for call in salesforce.calls("token"):
        form = parse_qs(call.text)
        secrets += form.get("assertion", [])
    return secrets


def reported(error: BaseException) -> str:
    """Every way an exception is shown: message, repr, args, a logged traceback."""
    return "\n".join(
        [str(error), repr(error), repr(error.args), *traceback.format_exception(error)]
    )


def attempt(action: Callable[[], object], shown: list[str]) -> object:
    try:
        result = action()
    except sf.SalesforceError as error:
        shown.append(reported(error))
        return None
    shown.append(repr(result))
    return result


def test_no_secret_is_shown_anywhere_even_when_the_org_echoes_them(salesforce, caplog):
    caplog.set_level(logging.DEBUG)  # urllib3's request lines and ours
    salesforce.knobs.echo_credentials_in_errors = True
    shown: list[str] = []
    ca = salesforce.ca_path

    # Refused logins, each quoting the credentials back. (Secrets stay off the lines that
    # tracebacks quote.)
    wrong = password_connection(salesforce, password=WRONG_PASSWORD)
    attempt(lambda: sf.connect(wrong.credentials(), ca_bundle=ca), shown)
    attempt(
        lambda: sf.connect(
            jwt_connection(salesforce, username="x@y.example").credentials(), ca_bundle=ca
        ),
        shown,
    )
    revoked = sfdx_connection(salesforce, sfdx_auth_url=sfdx_auth_url(salesforce, REVOKED))
    attempt(lambda: sf.connect(revoked.credentials(), ca_bundle=ca), shown)

    # Every auth method: log in, read the facts, let the session expire and renew it.
    sessions = []
    for method, make in CONNECTIONS.items():
        org = attempt(
            lambda make=make: sf.connect(make(salesforce).credentials(), ca_bundle=ca), shown
        )
        assert isinstance(org, sf.OrgSession), method
        sessions.append(org)
        shown += [repr(org), repr(org.grant), repr(vars(org)), repr(vars(org.authenticator))]
        attempt(lambda org=org: sf.org_facts(org), shown)
        salesforce.expire_sessions()
        attempt(lambda org=org: sf.org_facts(org), shown)  # renewed, or refused (access token)

    # REST and SOAP refusals quoting the session id back.
    org = sessions[0]
    salesforce.knobs.request_limit_exceeded = True
    attempt(lambda: sf.org_facts(org), shown)
    attempt(
        lambda: sf.start_deploy(org, make_package(), check_only=False, test_level="NoTestRun"),
        shown,
    )
    salesforce.knobs.request_limit_exceeded = False

    # A deployment whose failures quote the session id (an Apex test printing UserInfo).
    live = salesforce.issued_sessions[-1]
    salesforce.knobs.deploy_outcome = "test_failures"
    salesforce.knobs.test_failures = [
        {"name": "LeakTest", "methodName": "testIt", "message": f"sid={live}", "stackTrace": live}
    ]
    deploy_id = attempt(
        lambda: sf.start_deploy(org, make_package(), check_only=True, test_level="RunLocalTests"),
        shown,
    )
    status = attempt(lambda: sf.wait(org, str(deploy_id), timeout=10, poll=0.01), shown)
    assert isinstance(status, sf.DeployStatus) and status.test_failures
    shown.append(status.summary())

    # A session refused right after a new login.
    salesforce.knobs.reject_sessions = True
    attempt(lambda: sf.org_facts(org), shown)

    # TLS refused.
    attempt(lambda: sf.connect(password_connection(salesforce).credentials()), shown)

    everything = "\n".join([*shown, caplog.text])
    assert "[redacted]" in everything  # the echoes happened, and were caught
    secrets = [*secrets_of(salesforce), WRONG_PASSWORD, REVOKED]
    leaked = [secret for secret in secrets if secret and secret in everything]
    assert leaked == []
    assert len(salesforce.issued_sessions) >= 8


def test_an_access_token_is_not_in_the_expired_message(salesforce):
    connection = token_connection(salesforce)
    token = connection.access_token.reveal()
    salesforce.knobs.echo_credentials_in_errors = True
    org = sf.connect(connection.credentials(), ca_bundle=salesforce.ca_path)
    salesforce.expire_sessions()

    with pytest.raises(sf.SessionExpired) as caught:
        sf.org_facts(org)

    assert token not in reported(caught.value)
    assert token not in repr(org)
