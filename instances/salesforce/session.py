"""A logged-in org: the HTTP session, the current grant, and the one-re-login-then-retry rule.

Sessions expire (two hours by default, sooner when an admin logs the user out). Every call
goes through `OrgSession.call`, which on INVALID_SESSION_ID logs in once more and repeats the
call once; a second refusal is the user's problem and says so.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import xml.etree.ElementTree as ET  # noqa: S405 - parses answers from the org we connect to
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from xml.sax.saxutils import escape

import requests
from django.conf import settings
from simple_salesforce import Salesforce
from simple_salesforce import exceptions as sf_exceptions

from instances.salesforce.auth import authenticator_for
from instances.salesforce.credentials import Credentials
from instances.salesforce.errors import (
    ApiDisabled,
    ApiError,
    JwtAccessTokenRefused,
    OrgUnavailable,
    OrgUnreachable,
    RequestLimitExceeded,
    SalesforceError,
    SessionExpired,
    TestLevelRefused,
    TlsVerificationFailed,
    clip,
    redact,
)
from instances.salesforce.hosts import HostNotAllowed, url_host_problem
from instances.salesforce.login import Authenticator, Grant, host_of
from releasemgr.crypto import Secret
from releasemgr.metadata_api import API_VERSION

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The first API version whose SOAP APIs accept JWT-based access tokens.
SOAP_JWT_TOKENS_FROM = "68.0"
DEFAULT_TIMEOUT = 60.0  # seconds for one HTTP request; a deployment's wait is separate
CLIENT_NAME = "releasemgr"

SOAPENV = "http://schemas.xmlsoap.org/soap/envelope/"
METADATA_NS = "http://soap.sforce.com/2006/04/metadata"


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def is_jwt_token(token: str) -> bool:
    """A JWT-based access token (header.payload.signature, the header JSON), as connected
    apps and External Client Apps issue with "Issue JSON Web Token (JWT)-based access
    tokens" on; classic session ids look like `00D…!…`."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        return False
    try:
        header = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4))
        return isinstance(json.loads(header), dict)
    except (ValueError, UnicodeDecodeError):
        return False


class _OrgHttp(requests.Session):
    """A requests session that always sends its own `verify` and a timeout.

    requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE in the environment override
    `session.verify` unless each request names `verify` itself (psf/requests#3829), and waits
    forever without a timeout; simple-salesforce's login passes neither.
    """

    default_timeout: float = DEFAULT_TIMEOUT
    last_status: int = 0  # of the last response: simple-salesforce's login errors drop it

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        problem = url_host_problem(url)  # every request: the instance URL a login returns too
        if problem:
            raise HostNotAllowed(f"Refused to send the org's credentials there: {problem}")
        read = kwargs.get("timeout") or self.default_timeout
        if not isinstance(read, tuple):  # a connect timeout of its own, from the settings
            kwargs["timeout"] = (min(settings.NETWORK_CONNECT_TIMEOUT, read), read)
        if kwargs.get("verify") in (None, True):
            kwargs["verify"] = self.verify
        self.last_status = 0
        response = super().request(method, url, *args, **kwargs)
        self.last_status = response.status_code
        return response


def http_session(
    session: requests.Session | None = None,
    *,
    ca_bundle: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> requests.Session:
    """The requests session for an org: TLS verification always on, against `ca_bundle` (the
    SALESFORCE_CA_BUNDLE setting, for a TLS-inspecting proxy) when given.

    A caller's `session` lends its settings (adapters, proxies, headers, cookies: shared, not
    copied) to ours; only its `verify=False` is refused.
    """
    http = _OrgHttp()
    if session is not None:
        http.__dict__.update(session.__dict__)
    http.default_timeout = min(timeout, settings.NETWORK_READ_TIMEOUT)
    if ca_bundle:
        http.verify = str(ca_bundle)
    elif not isinstance(http.verify, str):
        http.verify = True  # never False, whatever the caller's session said
    if session is None:
        http.headers["User-Agent"] = f"{CLIENT_NAME} (simple-salesforce; requests)"
    return http


class OrgSession:
    """A session with one org. Create it with `connect()`; it is not thread-safe."""

    def __init__(
        self,
        authenticator: Authenticator,
        http: requests.Session,
        *,
        api_version: str = API_VERSION,
        timeout: float = DEFAULT_TIMEOUT,
        label: str = "",
    ) -> None:
        self.authenticator = authenticator
        self.http = http
        self.api_version = api_version
        self.timeout = timeout
        self.label = label or authenticator.describe()
        self._grant: Grant | None = None
        self._old_tokens: list[Secret] = []  # still redacted after a re-login
        self._rest: Salesforce | None = None
        self.logins = 0

    def __repr__(self) -> str:
        state = "logged in" if self._grant else "not logged in"
        return f"<OrgSession {self.label} via {self.authenticator.method}, {state}>"

    # ------------------------------------------------------------------ secrets

    def secrets(self) -> list[str]:
        """Every credential this session knows, for `redact`."""
        current = [self._grant.access_token.reveal()] if self._grant else []
        return [*self.authenticator.secrets(), *current, *(t.reveal() for t in self._old_tokens)]

    def redact(self, text: str) -> str:
        return redact(text, self.secrets())

    # ------------------------------------------------------------------ login

    @property
    def instance_url(self) -> str:
        return self.grant.instance_url

    @property
    def host(self) -> str:
        return host_of(self.instance_url)

    @property
    def grant(self) -> Grant:
        if self._grant is None:
            self.login()
        assert self._grant is not None
        return self._grant

    def login(self) -> None:
        if self._grant is not None:
            self._old_tokens.append(self._grant.access_token)
        with self.transport_errors(self.authenticator.endpoint):
            grant = self.authenticator.login(self.http, self.api_version)
        self._grant, self._rest = grant, None
        self.logins += 1
        logger.info("Logged in to %s (%s).", grant.instance_url, self.label)

    def call(self, operation: Callable[[], T], *, what: str) -> T:
        """Run `operation`; on an expired session log in once more and run it once more."""
        self.grant  # noqa: B018 - log in first if needed
        try:
            return operation()
        except JwtAccessTokenRefused:
            raise  # a new login would bring another JWT
        except SessionExpired:
            if not self.authenticator.can_renew:
                raise SessionExpired(
                    f"The access token for {self.host} has expired or was revoked ({what}). "
                    "Enter a new one, or switch the connection to an auth method that can log "
                    "in again by itself (JWT bearer or an SFDX auth URL).",
                    code="INVALID_SESSION_ID",
                ) from None
            logger.info("Session for %s expired during the %s; logging in again.", self.host, what)
        self.login()
        try:
            return operation()
        except SessionExpired:
            raise SessionExpired(
                f"Salesforce refused a fresh session for {self.label} right after the login "
                f"({what}). The user may be frozen, or the org's session settings lock "
                "sessions to an IP range.",
                code="INVALID_SESSION_ID",
            ) from None

    # ------------------------------------------------------------------ transport

    @contextlib.contextmanager
    def transport_errors(self, where: str) -> Iterator[None]:
        """Turn requests' connection errors into ours, with the secrets taken out."""
        host = host_of(where) or where
        try:
            yield
        except requests.exceptions.SSLError as exc:
            raise TlsVerificationFailed(
                f"The TLS certificate of {host} could not be verified "
                f"({self.redact(_root_cause(exc))}). If a proxy inspects TLS, set "
                "SALESFORCE_CA_BUNDLE to its CA bundle."
            ) from None
        except requests.exceptions.Timeout:
            raise OrgUnreachable(
                f"{host} did not answer within {self.timeout:g} seconds. Try again later."
            ) from None
        except requests.exceptions.ConnectionError as exc:
            raise OrgUnreachable(
                f"Could not connect to {host} ({self.redact(_root_cause(exc))})."
            ) from None
        except requests.exceptions.RequestException as exc:
            raise OrgUnreachable(f"The request to {host} failed: {self.redact(str(exc))}") from None

    # ------------------------------------------------------------------ REST

    @property
    def rest(self) -> Salesforce:
        """simple-salesforce's REST client on the current session ("direct" mode: it must not
        log in by itself, the retry rule lives here)."""
        if self._rest is None:
            self._rest = Salesforce(
                instance_url=self.grant.instance_url,
                session_id=self.grant.access_token.reveal(),
                session=self.http,
                version=self.api_version,
            )
        return self._rest

    def rest_call(self, what: str, operation: Callable[[Salesforce], T]) -> T:
        def attempt() -> T:
            with self.transport_errors(self.instance_url):
                try:
                    return operation(self.rest)
                except sf_exceptions.SalesforceError as exc:
                    raise self._rest_error(exc, what) from None

        return self.call(attempt, what=what)

    def _rest_error(self, exc: sf_exceptions.SalesforceError, what: str) -> SalesforceError:
        content: Any = exc.content
        code, message = "", ""
        if isinstance(content, list) and content and isinstance(content[0], dict):
            code = str(content[0].get("errorCode", ""))
            message = str(content[0].get("message", ""))
        elif isinstance(content, dict):
            code = str(content.get("errorCode") or content.get("error") or "")
            message = str(content.get("message") or content.get("error_description") or "")
        elif content:
            message = (
                content.decode(errors="replace") if isinstance(content, bytes) else str(content)
            )
        if exc.status == 401 and not code:
            code = "INVALID_SESSION_ID"
        return self.error_for(code, message, status=exc.status, what=what)

    # ------------------------------------------------------------------ Metadata API (SOAP)

    @property
    def metadata_url(self) -> str:
        return f"{self.instance_url}/services/Soap/m/{self.api_version}"

    def metadata_call(self, operation: str, body: str) -> ET.Element:
        """Send one Metadata API call; return its `<result>` element (re-login included)."""

        def attempt() -> ET.Element:
            envelope = (
                '<?xml version="1.0" encoding="UTF-8"?>'
                f'<soapenv:Envelope xmlns:soapenv="{SOAPENV}" xmlns:met="{METADATA_NS}">'
                "<soapenv:Header>"
                f"<met:CallOptions><met:client>{CLIENT_NAME}</met:client></met:CallOptions>"
                "<met:SessionHeader><met:sessionId>"
                f"{escape(self.grant.access_token.reveal())}"
                "</met:sessionId></met:SessionHeader>"
                "</soapenv:Header>"
                f"<soapenv:Body><met:{operation}>{body}</met:{operation}></soapenv:Body>"
                "</soapenv:Envelope>"
            )
            with self.transport_errors(self.instance_url):
                response = self.http.post(
                    self.metadata_url,
                    data=envelope.encode(),
                    headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": operation},
                    timeout=self.timeout,
                )
            try:
                return self._soap_result(response, operation)
            except SessionExpired:
                if self._refuses_jwt_token():
                    raise self._jwt_token_refused(operation) from None
                raise

        return self.call(attempt, what=f"Metadata API {operation}")

    def _refuses_jwt_token(self) -> bool:
        token = self._grant.access_token.reveal() if self._grant else ""
        return is_jwt_token(token) and version_tuple(self.api_version) < version_tuple(
            SOAP_JWT_TOKENS_FROM
        )

    def _jwt_token_refused(self, operation: str) -> JwtAccessTokenRefused:
        return JwtAccessTokenRefused(
            f"Salesforce refused the Metadata API {operation} for {self.host} with "
            f"INVALID_SESSION_ID because the access token is a JWT: the connected app (or "
            f"External Client App) issues JWT-based access tokens, and Salesforce's SOAP APIs "
            f"accept those only from API {SOAP_JWT_TOKENS_FROM} (this client speaks "
            f"{self.api_version}). In the app's OAuth settings, turn off “Issue JSON Web Token "
            "(JWT)-based access tokens for named users”, then Test connection again. Logging "
            "in again would only yield another JWT, so releasemgr did not.",
            code="INVALID_SESSION_ID",
        )

    def _soap_result(self, response: requests.Response, operation: str) -> ET.Element:
        what = f"Metadata API {operation}"
        try:
            root = ET.fromstring(response.content)  # noqa: S314
        except ET.ParseError:
            raise self.error_for("", "", status=response.status_code, what=what) from None
        fault = root.find(f"{{{SOAPENV}}}Body/{{{SOAPENV}}}Fault")
        if fault is not None:
            code = (fault.findtext("faultcode") or "").rpartition(":")[2]
            if not code:
                code = next(
                    (e.text or "" for e in fault.iter() if e.tag.endswith("exceptionCode")), ""
                )
            message = fault.findtext("faultstring") or ""
            raise self.error_for(code, message, status=response.status_code, what=what)
        result = root.find(
            f"{{{SOAPENV}}}Body/{{{METADATA_NS}}}{operation}Response/{{{METADATA_NS}}}result"
        )
        if response.status_code != 200 or result is None:
            raise self.error_for("", "no result", status=response.status_code, what=what)
        return result

    # ------------------------------------------------------------------ errors

    def error_for(self, code: str, message: str, *, status: int, what: str) -> SalesforceError:
        """The exception for a Salesforce error code (REST errorCode or SOAP faultcode)."""
        message = self.redact(message).strip()
        if code and message.startswith(f"{code}:"):  # a SOAP faultstring begins with its code
            message = message[len(code) + 1 :].strip()
        message = clip(message)
        code = clip(self.redact(code), 80)
        said = f" Salesforce said: {message}" if message else ""
        if code == "INVALID_SESSION_ID":
            return SessionExpired(f"The session for {self.host} expired.{said}", code=code)
        if code == "INVALID_OPERATION" and "NoTestRun" in message:
            return TestLevelRefused(
                f"{self.host} is a production org and refused the {what} without tests "
                f"(INVALID_OPERATION).{said} Production orgs need RunLocalTests, "
                "RunAllTestsInOrg or RunSpecifiedTests: set the instance's org type to "
                "production and choose one of those test levels.",
                code=code,
            )
        if code == "REQUEST_LIMIT_EXCEEDED":
            return RequestLimitExceeded(
                f"{self.host} has used up its API requests for the last 24 hours "
                f"(REQUEST_LIMIT_EXCEEDED during the {what}).{said} Wait until the limit "
                "recovers (Setup → Company Information shows it), or ask Salesforce to raise it.",
                code=code,
            )
        if code in {"API_DISABLED_FOR_ORG", "API_CURRENTLY_DISABLED"}:
            return ApiDisabled(
                f"{self.host} does not allow API access ({code}).{said} The org's edition must "
                "include the API and the user's profile needs the “API Enabled” and “Modify "
                "Metadata Through Metadata API Functions” permissions.",
                code=code,
            )
        if status >= 500 and not code:
            return OrgUnavailable(
                f"{self.host} answered the {what} with HTTP {status}: Salesforce is unavailable "
                "(maintenance or an incident). Try again later."
            )
        detail = f"{code}: {message}" if code and message else code or message or f"HTTP {status}"
        return ApiError(f"Salesforce refused the {what} ({detail}).", code=code)


def _root_cause(exc: BaseException) -> str:
    """The innermost reason of a requests error (its str() nests pools, URLs and reprs)."""
    seen = exc
    for _ in range(10):
        inner = seen.__cause__ or seen.__context__ or getattr(seen, "reason", None)
        if not isinstance(inner, BaseException) and seen.args:
            inner = seen.args[0]
        if not isinstance(inner, BaseException) or inner is seen:
            break
        seen = inner
    return str(seen)


def connect(
    connection: Credentials,
    *,
    ca_bundle: str | None = None,
    session: requests.Session | None = None,
    api_version: str = API_VERSION,
    timeout: float = DEFAULT_TIMEOUT,
) -> OrgSession:
    """Log in to the org behind `connection` (any auth method) and return the session."""
    org = OrgSession(
        authenticator_for(connection),
        http_session(session, ca_bundle=ca_bundle, timeout=timeout),
        api_version=api_version,
        timeout=timeout,
    )
    org.login()
    return org
