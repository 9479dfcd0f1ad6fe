"""What every login shares: the `Grant` it yields and the `Authenticator` shape, the login host
rules (an https origin, the JWT audience, simple-salesforce's `domain`), SOAP login()'s end,
and how a refused login reads. The authenticators themselves: `auth.py` (password, access
token, and which one a connection gets) and `oauth.py` (the three OAuth grants).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import requests

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

PRODUCTION_LOGIN = "https://login.salesforce.com"
SANDBOX_LOGIN = "https://test.salesforce.com"
OAUTH_ERRORS = {"invalid_grant", "invalid_client_id", "invalid_client", "unsupported_grant_type"}

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
