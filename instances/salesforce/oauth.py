"""The OAuth 2.0 logins: JWT bearer, client credentials, and an SFDX auth URL's refresh token.
Each is one form POST to the login host's /services/oauth2/token, done here (see `_TokenAuth`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import jwt
import requests

from instances.salesforce.credentials import AuthMethod
from instances.salesforce.errors import ConnectionIncomplete, LoginFailed
from instances.salesforce.login import Grant, host_of, jwt_audience, login_refused, origin
from releasemgr.crypto import Secret

JWT_LIFETIME_SECONDS = 180  # Salesforce accepts at most 3 minutes.
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SFDX_DEFAULT_CLIENT_ID = "PlatformCLI"
CLIENT_CREDENTIALS_GRANT = "client_credentials"


class _TokenAuth:
    """Shared by the three OAuth flows: POST a grant to /services/oauth2/token."""

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
