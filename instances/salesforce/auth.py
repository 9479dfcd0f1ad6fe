"""Logging in: one authenticator per auth method, each turning `Credentials` into a session.

simple-salesforce does the SOAP partner login, but its `domain` parameter only ever builds
`https://{domain}.salesforce.com`, which cannot name a host with a port (a test server, a
proxy). So we hand it the whole login URL as `scratch_url` (which replaces the login host and
nothing else). The two OAuth grants are one form POST each, done here.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import jwt
import requests
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from simple_salesforce.login import SalesforceLogin

from instances.salesforce.credentials import AuthMethod, Credentials
from instances.salesforce.errors import (
    ApiDisabled,
    ConnectionIncomplete,
    LoginFailed,
    OrgUnavailable,
    RequestLimitExceeded,
    SalesforceError,
    SoapLoginUnavailable,
    clip,
    redact,
)
from releasemgr.crypto import Secret

logger = logging.getLogger(__name__)


PRODUCTION_LOGIN = "https://login.salesforce.com"
SANDBOX_LOGIN = "https://test.salesforce.com"
JWT_LIFETIME_SECONDS = 180  # Salesforce accepts at most 3 minutes.
OAUTH_ERRORS = {"invalid_grant", "invalid_client_id", "invalid_client", "unsupported_grant_type"}
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SFDX_DEFAULT_CLIENT_ID = "PlatformCLI"
CLIENT_CREDENTIALS_GRANT = "client_credentials"

# SOAP login() (password auth) is not available from API 65.0 on, and Salesforce retires it
# from every version in its Summer '27 release (SOAP API End-of-Life Policy).
SOAP_LOGIN_LAST_VERSION = "64.0"
SOAP_LOGIN_RETIRED_IN = "Summer '27"
SOAP_LOGIN_RETIREMENT = (
    "Password login uses SOAP login(), which Salesforce retires in its "
    f"{SOAP_LOGIN_RETIRED_IN} release (expected in June 2027) and no longer offers from API "
    "65.0; new orgs have it turned off. "
    "Switch to JWT bearer (a connected app with a certificate), an SFDX auth URL (a refresh "
    "token from the web-server flow, as `sf org login web` makes) or client credentials."
)

_SANDBOX_HOST = re.compile(
    r"^(test|cs\d+)\.salesforce\.com$|\.(sandbox|scratch)\.my\.salesforce\.com$|--"
)


@dataclass(frozen=True)
class Grant:
    """What a login yields: a session id (access token) and the org's instance URL."""

    access_token: Secret  # a Secret, so that repr() of a Grant masks it
    instance_url: str


class Authenticator(Protocol):
    @property
    def method(self) -> str: ...

    @property
    def can_renew(self) -> bool: ...  # False when a new login needs a human (an access token)

    @property
    def endpoint(self) -> str: ...  # the URL the login talks to, for messages

    def login(self, http: requests.Session, api_version: str) -> Grant: ...

    def secrets(self) -> list[str]: ...

    def describe(self) -> str: ...


def origin(url: str) -> str:
    """`https://host[:port]` of a URL or of a bare host (`acme.my.salesforce.com`)."""
    url = url.strip()
    if "://" not in url:
        url = f"https://{url}"
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ConnectionIncomplete(f"“{redact(url)}” is not an https URL of a Salesforce host.")
    return f"https://{parts.netloc.rsplit('@', 1)[-1]}"


def host_of(url: str) -> str:
    return urlsplit(url).netloc


def jwt_audience(login_url: str) -> str:
    """The `aud` claim Salesforce expects for a JWT bearer assertion sent to `login_url`.

    Salesforce's own hosts accept only login.salesforce.com (production, developer, and My
    Domains of those) or test.salesforce.com (sandboxes and scratch orgs); any other host (a
    test server, a private gateway) is its own audience.
    """
    base = origin(login_url)
    host = urlsplit(base).hostname or ""
    if not host.endswith(".salesforce.com"):
        return base
    return SANDBOX_LOGIN if _SANDBOX_HOST.search(host) else PRODUCTION_LOGIN


def salesforce_domain(login_url: str) -> str | None:
    """simple-salesforce's `domain` (`login`, `test`, `acme.my`) for a *.salesforce.com host."""
    host = urlsplit(origin(login_url)).hostname or ""
    return host.removesuffix(".salesforce.com") if host.endswith(".salesforce.com") else None


# --------------------------------------------------------------------------- refusals


def login_refused(
    code: str | int | None,
    message: str,
    *,
    who: str,
    host: str,
    secrets: list[str],
    status: int = 0,
) -> SalesforceError:
    """The exception users see for a refused login (SOAP fault or OAuth error). `status` is
    the HTTP status, which simple-salesforce keeps only when the body is not XML or JSON."""
    detail = clip(redact(message or "", secrets).strip())
    if not code and status:
        code = status  # an HTML error page, say: not Salesforce's fault format
    if isinstance(code, int):
        if code >= 500:
            return OrgUnavailable(
                f"{host} answered the login with HTTP {code}: Salesforce is unavailable "
                "(maintenance or an incident). Try again later."
            )
        return LoginFailed(
            f"{host} gave an unexpected answer to the login (HTTP {code}). "
            "Check the login host: it must be a Salesforce login host or My Domain."
        )
    code = redact(str(code or ""), secrets)
    said = f" Salesforce said: {detail}" if detail else ""
    if code == "INVALID_LOGIN":
        return LoginFailed(
            f"Salesforce refused the username, password or security token for {who} "
            f"(INVALID_LOGIN). Check all three: a password reset also resets the security "
            "token, and a sandbox appends its name to the username.",
            code=code,
        )
    if code == "LOGIN_MUST_USE_SECURITY_TOKEN":
        return LoginFailed(
            f"{who} may log in from here only with a security token: add the security token "
            "(Settings → Reset My Security Token in Salesforce).",
            code=code,
        )
    if code == "INVALID_OPERATION" and "login" in detail.lower():
        return SoapLoginUnavailable(
            f"Salesforce refused the SOAP login() for {who} (INVALID_OPERATION).{said} "
            f"{SOAP_LOGIN_RETIREMENT}",
            code=code,
        )
    if code == "API_DISABLED_FOR_ORG":
        return ApiDisabled(
            f"The org behind {host} does not allow API access (API_DISABLED_FOR_ORG). Its "
            "edition must include the API and the user's profile needs “API Enabled”.",
            code=code,
        )
    if code == "REQUEST_LIMIT_EXCEEDED":
        return RequestLimitExceeded(
            f"The org behind {host} has used up its API requests for the last 24 hours "
            "(REQUEST_LIMIT_EXCEEDED). Wait until the limit recovers.",
            code=code,
        )
    if code in OAUTH_ERRORS:
        return LoginFailed(
            f"The connected app login as {who} was refused ({code}).{said}{_hint(detail)}",
            code=code,
        )
    return LoginFailed(
        f"Salesforce refused the login as {who} ({code or 'no code'}).{said}", code=code
    )


def _hint(detail: str) -> str:
    text = detail.lower()
    if "approved this consumer" in text:
        return (
            " Pre-authorize the user for the connected app (Manage → Edit Policies → “Admin "
            "approved users are pre-authorized”, then add the user's profile or permission set)."
        )
    if "audience" in text:
        return " The login host does not match the org: use test.salesforce.com for sandboxes."
    if "expired access/refresh token" in text:
        return (
            " The refresh token expired or was revoked: run `sf org display --verbose` again "
            "and enter the new SFDX auth URL."
        )
    if "no client credentials user enabled" in text:
        return (
            " Enable the client credentials flow in the connected app's policies and choose "
            "its Run As user."
        )
    if "client identifier invalid" in text or "client credentials" in text:
        return " Check the connected app's consumer key (and secret)."
    return ""


# --------------------------------------------------------------------------- the four methods


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _secret(value: object) -> str:
    return value.reveal() if isinstance(value, Secret) else str(value or "")


class PasswordAuth:
    """Username + password (+ security token), over the SOAP partner `login` call."""

    method = AuthMethod.PASSWORD
    can_renew = True

    def __init__(self, login_url: str, username: str, password: str, token: str) -> None:
        self.login_url = self.endpoint = origin(login_url)
        self.username = username
        self._password = Secret(password)
        self._token = Secret(token)

    def secrets(self) -> list[str]:
        password, token = self._password.reveal(), self._token.reveal()
        return [password, token, password + token]

    def describe(self) -> str:
        return f"{self.username} at {host_of(self.login_url)}"

    def login(self, http: requests.Session, api_version: str) -> Grant:
        # The session works at any version; the login call itself must use one that has it.
        soap_version = min(api_version, SOAP_LOGIN_LAST_VERSION, key=_version_key)
        try:
            session_id, instance = SalesforceLogin(
                username=self.username,
                password=self._password.reveal(),
                # None (not "") selects the login without a token, for allow-listed networks.
                security_token=self._token.reveal() or None,
                sf_version=soap_version,
                session=http,
                domain=salesforce_domain(self.login_url),
                scratch_url=self.login_url,
            )
        except SalesforceAuthenticationFailed as exc:
            raise login_refused(
                exc.code,
                exc.auth_message,
                who=self.username,
                host=host_of(self.login_url),
                secrets=self.secrets(),
                status=getattr(http, "last_status", 0),
            ) from None
        return Grant(Secret(session_id), origin(instance))


class _TokenAuth:
    """Shared by the two OAuth flows: POST a grant to /services/oauth2/token."""

    token_host: str
    who: str

    @property
    def endpoint(self) -> str:
        return self.token_host

    def _exchange(self, http: requests.Session, data: dict[str, str]) -> Grant:
        # Not simple-salesforce's token_login: it drops the HTTP status, fails on a missing
        # instance_url with AttributeError, and warns with a login.salesforce.com URL.
        response = http.post(
            f"{self.token_host}/services/oauth2/token",
            data=data,
            headers={"Accept": "application/json"},
        )
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            answer = {}
        token, instance = answer.get("access_token"), answer.get("instance_url")
        if response.status_code != 200 or not token:
            raise login_refused(
                answer.get("error"),
                str(answer.get("error_description") or ""),
                who=self.who,
                host=host_of(self.token_host),
                secrets=[*self.secrets(), str(token or "")],
                status=response.status_code,
            )
        if not instance:
            raise LoginFailed(
                f"{host_of(self.token_host)} answered the token request without an instance "
                "URL. Check the login host."
            )
        return Grant(Secret(str(token)), origin(str(instance)))

    def secrets(self) -> list[str]:
        raise NotImplementedError


class JwtAuth(_TokenAuth):
    """OAuth 2.0 JWT bearer: an assertion signed with the connected app's private key."""

    method = AuthMethod.JWT
    can_renew = True

    def __init__(self, login_url: str, username: str, consumer_key: str, private_key: str) -> None:
        self.token_host = origin(login_url)
        self.username = self.who = username
        self.consumer_key = consumer_key
        self._private_key = Secret(private_key)
        self._assertion = Secret("")

    def secrets(self) -> list[str]:
        return [self._private_key.reveal(), self._assertion.reveal()]

    def describe(self) -> str:
        return f"{self.username} at {host_of(self.token_host)} (JWT bearer)"

    def assertion(self) -> str:
        claims = {
            "iss": self.consumer_key,
            "sub": self.username,
            "aud": jwt_audience(self.token_host),
            "exp": int(time.time()) + JWT_LIFETIME_SECONDS,
        }
        try:
            return jwt.encode(claims, self._private_key.reveal(), algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError):
            # The library's message may quote the key; ours never does.
            raise ConnectionIncomplete(
                "The private key is not a PEM-encoded RSA private key (it starts with "
                "“-----BEGIN PRIVATE KEY-----” or “-----BEGIN RSA PRIVATE KEY-----”)."
            ) from None

    def login(self, http: requests.Session, api_version: str) -> Grant:
        assertion = self.assertion()
        self._assertion = Secret(assertion)
        return self._exchange(http, {"grant_type": JWT_GRANT, "assertion": assertion})


class ClientCredentialsAuth(_TokenAuth):
    """OAuth 2.0 client credentials: the connected app's key and secret, no user password;
    the org runs the calls as the app's "Run As" user. Salesforce takes this grant only at
    the org's My Domain, never at login.salesforce.com or test.salesforce.com."""

    method = AuthMethod.CLIENT_CREDENTIALS
    can_renew = True

    def __init__(self, login_url: str, consumer_key: str, client_secret: str) -> None:
        self.token_host = origin(login_url)
        host = urlsplit(self.token_host).hostname or ""
        if host in ("login.salesforce.com", "test.salesforce.com"):
            raise ConnectionIncomplete(
                "The client credentials flow needs the org's My Domain as the login host "
                "(https://acme.my.salesforce.com), not login.salesforce.com or "
                "test.salesforce.com."
            )
        self.consumer_key = consumer_key
        self._client_secret = Secret(client_secret)
        self.who = f"the connected app's Run As user at {host_of(self.token_host)}"

    def secrets(self) -> list[str]:
        return [self._client_secret.reveal()]

    def describe(self) -> str:
        return f"client credentials at {host_of(self.token_host)}"

    def login(self, http: requests.Session, api_version: str) -> Grant:
        return self._exchange(
            http,
            {
                "grant_type": CLIENT_CREDENTIALS_GRANT,
                "client_id": self.consumer_key,
                "client_secret": self._client_secret.reveal(),
            },
        )


@dataclass(frozen=True)
class SfdxAuthUrl:
    client_id: str
    client_secret: Secret
    refresh_token: Secret
    instance_url: str


def parse_sfdx_auth_url(text: str) -> SfdxAuthUrl:
    """`force://<clientId>:<clientSecret>:<refreshToken>@<instance>` as `sf org display
    --verbose` prints it. The client secret may be empty; `force://<refreshToken>@<instance>`
    means the CLI's own connected app."""
    text = text.strip()
    if not text.startswith("force://") or "@" not in text:
        raise ConnectionIncomplete(
            "The SFDX auth URL must look like force://<clientId>:<clientSecret>:<refreshToken>"
            "@<instance> (from `sf org display --verbose`)."
        )
    credentials, _, instance = text.removeprefix("force://").rpartition("@")
    parts = credentials.split(":")
    if len(parts) == 1:
        client_id, client_secret, refresh_token = SFDX_DEFAULT_CLIENT_ID, "", parts[0]
    elif len(parts) == 2:
        (client_id, refresh_token), client_secret = parts, ""
    else:
        client_id, client_secret, refresh_token = parts[0], parts[1], ":".join(parts[2:])
    if not client_id or not refresh_token or not instance:
        raise ConnectionIncomplete(
            "The SFDX auth URL lacks its client id, refresh token or instance host."
        )
    return SfdxAuthUrl(client_id, Secret(client_secret), Secret(refresh_token), origin(instance))


class SfdxUrlAuth(_TokenAuth):
    """An SFDX auth URL: its refresh token buys access tokens at its own instance."""

    method = AuthMethod.SFDX_URL
    can_renew = True

    def __init__(self, auth_url: str) -> None:
        self._raw = Secret(auth_url)
        self.parsed = parse_sfdx_auth_url(auth_url)
        self.token_host = self.parsed.instance_url
        self.who = f"the SFDX auth URL's user at {host_of(self.token_host)}"

    def secrets(self) -> list[str]:
        return [
            self._raw.reveal(),
            self.parsed.refresh_token.reveal(),
            self.parsed.client_secret.reveal(),
        ]

    def describe(self) -> str:
        return f"SFDX auth URL for {host_of(self.token_host)}"

    def login(self, http: requests.Session, api_version: str) -> Grant:
        data = {
            "grant_type": "refresh_token",
            "client_id": self.parsed.client_id,
            "refresh_token": self.parsed.refresh_token.reveal(),
        }
        if self.parsed.client_secret:
            data["client_secret"] = self.parsed.client_secret.reveal()
        return self._exchange(http, data)


class AccessTokenAuth:
    """A session id or OAuth access token pasted in: no login, and none possible when it ends."""

    method = AuthMethod.ACCESS_TOKEN
    can_renew = False

    def __init__(self, instance_url: str, access_token: str) -> None:
        self.instance_url = self.endpoint = origin(instance_url)
        self._token = Secret(access_token)

    def secrets(self) -> list[str]:
        return [self._token.reveal()]

    def describe(self) -> str:
        return f"access token for {host_of(self.instance_url)}"

    def login(self, http: requests.Session, api_version: str) -> Grant:
        return Grant(self._token, self.instance_url)


def authenticator_for(connection: Credentials) -> Authenticator:
    """The authenticator for a connection, or ConnectionIncomplete naming what is missing."""
    method = connection.auth_method
    missing = [
        label
        for label, value in _needs(connection).get(method, [])
        if not (value.reveal() if isinstance(value, Secret) else value)
    ]
    if method not in AuthMethod.values:
        raise ConnectionIncomplete(f"Unknown auth method “{method}”.")
    if missing:
        raise ConnectionIncomplete(
            f"The org connection lacks its {' and '.join(missing)} "
            f"(needed for {AuthMethod(method).label})."
        )
    if method == AuthMethod.PASSWORD:
        return PasswordAuth(
            connection.login_url,
            connection.username,
            _secret(connection.password),
            _secret(connection.security_token),
        )
    if method == AuthMethod.JWT:
        return JwtAuth(
            connection.login_url,
            connection.username,
            connection.consumer_key,
            _secret(connection.private_key),
        )
    if method == AuthMethod.SFDX_URL:
        return SfdxUrlAuth(_secret(connection.sfdx_auth_url))
    if method == AuthMethod.CLIENT_CREDENTIALS:
        return ClientCredentialsAuth(
            connection.login_url, connection.consumer_key, _secret(connection.client_secret)
        )
    return AccessTokenAuth(connection.instance_url, _secret(connection.access_token))


def _needs(connection: Credentials) -> dict[str, list[tuple[str, object]]]:
    return {
        AuthMethod.PASSWORD: [("username", connection.username), ("password", connection.password)],
        AuthMethod.JWT: [
            ("username", connection.username),
            ("consumer key", connection.consumer_key),
            ("private key", connection.private_key),
        ],
        AuthMethod.SFDX_URL: [("SFDX auth URL", connection.sfdx_auth_url)],
        AuthMethod.CLIENT_CREDENTIALS: [
            ("consumer key", connection.consumer_key),
            ("consumer secret", connection.client_secret),
        ],
        AuthMethod.ACCESS_TOKEN: [
            ("instance URL", connection.instance_url),
            ("access token", connection.access_token),
        ],
    }
