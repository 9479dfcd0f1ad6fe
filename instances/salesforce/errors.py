"""What can go wrong talking to an org, as exceptions whose message a user can act on.

Every message that carries text from a response or from another library's exception goes
through `redact` first: Salesforce echoes little, but proxies, load balancers and libraries
echo URLs, bodies and headers, and a session id in a log is a login.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"

# Shorter strings are not redacted: a one-letter "secret" would blank every message, and real
# Salesforce passwords, tokens and keys are far longer.
MIN_SECRET_LENGTH = 4

# Credentials recognisable by their shape, redacted even when we do not know their value
# (an old session id echoed back, a token in a proxy's error page).
_PEM = r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)"
_PATTERNS = [
    # A session id / access token: the 15-character org id, "!", then the token proper.
    (re.compile(r"\b00D[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?![A-Za-z0-9._\-]+"), REDACTED),
    # An Authorization header's credential ("Bearer …"), not the word in "JWT bearer flow".
    (re.compile(r"\b(Bearer|OAuth) [A-Za-z0-9._~+/!=\-]{16,}"), rf"\1 {REDACTED}"),
    (
        re.compile(
            r"(?i)(<(?:\w+:)?(?:sessionId|password)>)[^<]*(</(?:\w+:)?(?:sessionId|password)>)"
        ),
        rf"\1{REDACTED}\2",
    ),
    (
        re.compile(
            r"(?i)(\b(?:access_token|refresh_token|client_secret|assertion|password|sid)"
            r"[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]{6,}"
        ),
        rf"\1{REDACTED}",
    ),
    (re.compile(_PEM, re.S), REDACTED),
    (re.compile(r"force://[^\s\"'<>]+"), f"force://{REDACTED}"),
]


def _variants(secret: str) -> set[str]:
    """The forms a secret takes on the wire: as is, XML-escaped, URL-encoded, JSON-escaped."""
    forms = {
        secret,
        html.escape(secret, quote=False),
        html.escape(secret),
        quote(secret, safe=""),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
    }
    if "-----BEGIN" in secret:
        # A PEM key: each base64 line is a secret of its own (a message may quote one).
        forms.update(line.strip() for line in secret.splitlines() if len(line.strip()) >= 16)
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every secret (in any of its wire forms) and every credential-shaped string
    replaced by "[redacted]"."""
    forms: set[str] = set()
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_LENGTH:
            forms |= _variants(secret)
    # Longest first, so a password+token concatenation goes before the password inside it.
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def clip(text: str, limit: int = 500) -> str:
    """Keep a message readable when a proxy answers with a whole HTML page."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class SalesforceError(Exception):
    """Base class: `message` is for users; `code` is Salesforce's (INVALID_LOGIN, …) if any."""

    retryable = False

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"


class ConnectionIncomplete(SalesforceError):
    """The org connection lacks something its auth method needs, or holds something malformed."""


class LoginFailed(SalesforceError):
    """Salesforce refused the credentials (or the connected app refused the grant)."""


class SessionExpired(SalesforceError):
    """The session expired and could not be renewed.

    The client renews a session itself (one new login, then the call again); users see this
    only for an access-token connection, or when the new session is refused too.
    """


class JwtAccessTokenRefused(SessionExpired):
    """The connected app issues JWT-based access tokens, which Salesforce's SOAP APIs (the
    Metadata API) refuse below API 68.0 with INVALID_SESSION_ID. Logging in again only yields
    another such token, so the client says what to change instead."""


class SoapLoginUnavailable(LoginFailed):
    """SOAP `login()` is gone from API 65.0, retired from every version in Summer '27, and off
    by default in new orgs: the connection needs an OAuth flow."""


class TestLevelRefused(SalesforceError):
    """A production org refuses NoTestRun (and needs tests for Apex)."""

    __test__ = False


class ApiDisabled(SalesforceError):
    """The org (its edition) or the user (its profile) may not use the API."""


class RequestLimitExceeded(SalesforceError):
    """The org's rolling 24-hour API request limit is used up."""


class OrgUnavailable(SalesforceError):
    """Salesforce answered with a server error (5xx): maintenance or an incident; try later."""

    retryable = True


class OrgUnreachable(SalesforceError):
    """No answer at all: DNS, a refused connection, a timeout."""

    retryable = True


class TlsVerificationFailed(OrgUnreachable):
    """The server's certificate is not trusted: a wrong host, or a proxy whose CA we lack."""

    retryable = False


class ApiError(SalesforceError):
    """Any other refusal, with Salesforce's code and message."""


class QuickDeployRefused(ApiError):
    """The validation cannot be quick-deployed (failed, too old, or run without tests)."""
