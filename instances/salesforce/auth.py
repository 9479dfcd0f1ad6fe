"""Logging in: one authenticator per auth method, each turning `Credentials` into a session.

`authenticator_for` picks it and names what a connection lacks. Password login and a pasted
access token are here; the OAuth grants (JWT bearer, client credentials, an SFDX auth URL's
refresh token) in `oauth.py`; what every login shares (the grant, the login host rules, how a
refusal reads) in `login.py`.

simple-salesforce does the SOAP partner login, but its `domain` parameter only ever builds
`https://{domain}.salesforce.com`, which cannot name a host with a port (a test server, a
proxy). So we hand it the whole login URL as `scratch_url` (which replaces the login host and
nothing else).
"""

from __future__ import annotations

import logging

import requests
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from simple_salesforce.login import SalesforceLogin

from instances.salesforce.credentials import AuthMethod, Credentials
from instances.salesforce.errors import ConnectionIncomplete
from instances.salesforce.login import (
    SOAP_LOGIN_LAST_VERSION,
    Authenticator,
    Grant,
    host_of,
    login_refused,
    origin,
    salesforce_domain,
)
from instances.salesforce.oauth import ClientCredentialsAuth, JwtAuth, SfdxUrlAuth
from releasemgr.crypto import Secret

logger = logging.getLogger(__name__)


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
