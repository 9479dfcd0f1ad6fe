"""A simulated Salesforce org on loopback, over real HTTPS: the partner SOAP login, OAuth (the
authorize page and the token endpoint: JWT bearer, refresh token, authorization code with
PKCE, client credentials, username-password), REST query and limits, and the Metadata API's
deploy calls (`oauth.py` and `metadata.py`). Knobs make it fail the way real orgs fail.

Not Salesforce: the tests' stand-in (tests/salesforce_standin/) and the demo's simulated org
(`demo.py`) only. Its users and connected app hold made-up credentials."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import secrets
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree as ET

import jwt

from instances.salesforce.simulation import responses as r
from instances.salesforce.simulation.metadata import MetadataApi
from instances.salesforce.simulation.oauth import OAuthApi
from instances.salesforce.simulation.state import (
    Deployment,
    Knobs,
    Organization,
    Received,
    SoapFault,
    User,
)

SOAP_LOGIN_LAST_VERSION = 64.0  # login() is not available from API 65.0 on
OLDEST_API_VERSION = 31  # 21.0–30.0 were retired in Summer '25
VERSIONS_PATH = "/services/data"
API_PATH = re.compile(r"^/services/data/v(?P<version>\d+\.\d)/(?P<resource>[^?]*)$")
SOAP_PATH = re.compile(r"^/services/Soap/(?P<kind>[um])/(?P<version>\d+\.\d)(/.*)?$")


class SimulatedOrg(OAuthApi, MetadataApi):
    """The org, its users, its connected app, and every request it received. The OAuth
    endpoints are mixed in from `oauth.py`, the Metadata API from `metadata.py`; the HTTP
    plumbing below routes each request to them."""

    def __init__(self) -> None:
        self.url = ""  # https://127.0.0.1:PORT once started
        self.ca_path = ""
        self.knobs = Knobs()
        self.org = Organization()
        self.users = {
            "ci@acme.example": User("ci@acme.example", "s3cret-Passw0rd", "TOKENabc123XYZ456")
        }
        # The connected app: JWT bearer (certificate = jwt_public_key) and refresh tokens.
        self.consumer_key = "3MVG9standin.consumer.key"
        self.client_secret = "C0nsumerS3cretF00"
        self.jwt_public_key = ""
        self.jwt_private_key = ""  # the matching key, for tests to sign with
        self.refresh_tokens = {"5Aep861standin.refresh.token": "ci@acme.example"}
        self.redirect_uri = "http://localhost:1717/OauthRedirect"  # the connected app's callback
        self.authorization_codes: dict[str, tuple[str, str, str]] = {}  # code -> user, uri, PKCE
        self.sessions: dict[str, str] = {}  # live session id → username
        self.issued_sessions: list[str] = []  # every session id ever handed out
        self.requests: list[Received] = []
        self.deployments: dict[str, Deployment] = {}
        self.lock = threading.RLock()

    # ------------------------------------------------------------------ for tests

    def expire_sessions(self) -> None:
        """Every session dies, as after a timeout or an admin's "log out everyone"."""
        with self.lock:
            self.sessions.clear()

    def calls(self, operation: str) -> list[Received]:
        with self.lock:
            return [request for request in self.requests if request.operation == operation]

    def operations(self) -> list[str]:
        with self.lock:
            return [request.operation for request in self.requests]

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    # ------------------------------------------------------------------ sessions

    def new_session(self, username: str) -> str:
        if self.knobs.jwt_access_tokens:
            session_id = self._jwt_access_token(username)
        else:
            session_id = f"{self.org.org_id[:15]}!AQ{secrets.token_urlsafe(72).replace('-', '')}"
        with self.lock:
            self.sessions[session_id] = username
            self.issued_sessions.append(session_id)
        return session_id

    def _jwt_access_token(self, username: str) -> str:
        """A JWT-based access token, as connected apps with that setting issue them."""
        claims = {
            "iss": self.url,
            "sub": f"uid:{self.users[username].user_id}",
            "aud": "https://api.salesforce.com",
            "jti": secrets.token_hex(8),
            "exp": int(dt.datetime.now(dt.UTC).timestamp()) + 7200,
        }
        return jwt.encode(claims, secrets.token_hex(32), algorithm="HS256")

    def valid(self, session_id: str) -> bool:
        with self.lock:
            return session_id in self.sessions and not self.knobs.reject_sessions

    # ------------------------------------------------------------------ SOAP login

    def login(self, body: bytes, api_version: str) -> bytes:
        if float(api_version) > SOAP_LOGIN_LAST_VERSION:
            raise SoapFault(
                "INVALID_OPERATION",
                f"The SOAP Login operation is not available in the API version specified "
                f"({api_version}). Refer to the documentation for supported versions.",
            )
        if self.knobs.soap_login_disabled:
            raise SoapFault(
                "INVALID_OPERATION",
                "SOAP API login() is disabled by default in this org. Contact the org "
                "administrator to enable SOAP API login().",
            )
        root = ET.fromstring(body)  # noqa: S314 - a login request: no entities, no DTD needed
        username = root.findtext(f".//{{{r.PARTNER_NS}}}username") or ""
        password = root.findtext(f".//{{{r.PARTNER_NS}}}password") or ""
        user = self.users.get(username)
        if user is None or password != user.password + user.security_token:
            raise SoapFault("INVALID_LOGIN")
        if self.knobs.api_disabled:
            raise SoapFault("API_DISABLED_FOR_ORG")
        if self.knobs.request_limit_exceeded:
            raise SoapFault("REQUEST_LIMIT_EXCEEDED")
        session_id = self.new_session(username)
        return r.login_response(
            url=self.url, api_version=api_version, session_id=session_id, org=self.org, user=user
        )

    # ------------------------------------------------------------------ versions

    def versions(self) -> list[dict[str, str]]:
        """`GET /services/data/`: every API version the org answers, oldest first (no
        session needed, as on a real org)."""
        latest = int(float(self.knobs.latest_api_version))
        return [
            {
                "label": f"API {number}.0",
                "url": f"/services/data/v{number}.0",
                "version": f"{number}.0",
            }
            for number in range(OLDEST_API_VERSION, latest + 1)
        ]

    def supports(self, api_version: str) -> bool:
        return api_version in {v["version"] for v in self.versions()}

    # ------------------------------------------------------------------ REST

    def rest(self, resource: str, query: dict[str, list[str]], api_version: str) -> Any:
        if resource == "query":
            soql = query.get("q", [""])[0]
            if "FROM Organization" not in soql:
                return 400, [{"message": "unexpected query", "errorCode": "MALFORMED_QUERY"}]
            o = self.org
            record = {
                "attributes": {
                    "type": "Organization",
                    "url": f"/services/data/v{api_version}/sobjects/Organization/{o.org_id}",
                },
                "Id": o.org_id,
                "Name": o.name,
                "OrganizationType": o.organization_type,
                "IsSandbox": o.is_sandbox,
                "TrialExpirationDate": o.trial_expiration,
                "InstanceName": o.instance_name,
                "NamespacePrefix": o.namespace_prefix,
            }
            return 200, {"totalSize": 1, "done": True, "records": [record]}
        if resource == "limits":
            return 200, self.org.limits
        return 404, r.rest_error("NOT_FOUND")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"
    _echo = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # quiet: the tests read standin.requests instead

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def _body(self) -> bytes:
        """The request body, sent with a Content-Length or chunked (as Node's fetch sends
        jsforce's login and token POSTs)."""
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""
        chunks: list[bytes] = []
        while True:
            size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)  # the CRLF after each chunk

    def _dispatch(self) -> None:
        standin = self.server.standin
        body = self._body()
        split = urlsplit(self.path)
        operation = self._operation(split.path, body)
        with standin.lock:
            standin.requests.append(
                Received(self.command, self.path, operation, dict(self.headers.items()), body)
            )
        knobs = standin.knobs
        self._echo = ""
        if knobs.echo_credentials_in_errors:
            authorization = self.headers.get("Authorization", "")
            self._echo = f" [you sent: {body.decode(errors='replace')} {authorization}]"
        if knobs.server_error and knobs.server_error_remaining != 0:
            if knobs.server_error_remaining is not None:
                knobs.server_error_remaining -= 1
            self._send(knobs.server_error, r.unavailable_page(knobs.server_error), "text/html")
            return
        try:
            if split.path == "/services/oauth2/authorize" and self.command == "GET":
                query = {k: v[0] for k, v in parse_qs(split.query).items()}
                self._redirect(standin.authorize(query))
            elif split.path == "/services/oauth2/token" and self.command == "POST":
                form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                status, answer = standin.token(form)
                if status != 200:
                    answer["error_description"] += self._echo
                self._json(status, answer)
            elif split.path.rstrip("/") == VERSIONS_PATH and self.command == "GET":
                self._json(200, standin.versions())
            elif soap := SOAP_PATH.match(split.path):
                if not standin.supports(soap["version"]):
                    raise SoapFault("UNSUPPORTED_API_VERSION")
                if soap["kind"] == "u":
                    self._xml(200, standin.login(body, soap["version"]))
                else:
                    self._xml(200, standin.metadata(body, soap["version"]))
            elif (api := API_PATH.match(split.path)) and standin.supports(api["version"]):
                self._rest(api["resource"].rstrip("/"), parse_qs(split.query), api["version"])
            elif api:
                self._json(404, r.rest_error("NOT_FOUND"))
            else:
                self._json(404, [{"message": "not found", "errorCode": "NOT_FOUND"}])
        except SoapFault as fault:
            login = split.path.startswith("/services/Soap/u/")
            message = (fault.message or r.MESSAGES.get(fault.code, fault.code)) + self._echo
            self._xml(fault.status, r.soap_fault(fault.code, message, login=login))

    def _operation(self, path: str, body: bytes) -> str:
        if path == "/services/oauth2/token":
            return "token"
        if path == "/services/oauth2/authorize":
            return "authorize"
        if path.startswith("/services/Soap/u/"):
            return "login"
        if path.startswith("/services/Soap/m/"):
            # The Body may declare the default namespace (<soapenv:Body xmlns="…">).
            match = re.search(rb"<(?:\w+:)?Body\b[^>]*>\s*<(?:\w+:)?(\w+)", body)
            return match[1].decode() if match else "metadata"
        if path.rstrip("/") == VERSIONS_PATH:
            return "versions"
        api = API_PATH.match(path)
        return api["resource"].rstrip("/") if api else path

    def _rest(self, resource: str, query: dict[str, list[str]], api_version: str) -> None:
        standin = self.server.standin
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if not standin.valid(token):
            self._json(401, self._rest_error("INVALID_SESSION_ID"))
        elif standin.knobs.api_disabled:
            self._json(403, self._rest_error("API_DISABLED_FOR_ORG"))
        elif standin.knobs.request_limit_exceeded:
            self._json(403, self._rest_error("REQUEST_LIMIT_EXCEEDED"))
        else:
            self._json(*standin.rest(resource, query, api_version))

    def _rest_error(self, code: str) -> list[dict[str, str]]:
        error = r.rest_error(code)
        error[0]["message"] += self._echo
        return error

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json;charset=UTF-8")

    def _xml(self, status: int, payload: bytes) -> None:
        self._send(status, payload, "text/xml;charset=UTF-8")

    def _send(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, standin: SimulatedOrg, tls: ssl.SSLContext, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)  # loopback only, whatever the port
        self.standin = standin
        self.tls = tls

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake happens here, in the request's thread, so that a client that
        # refuses our certificate fails its own handshake without stalling the accept loop.
        try:
            secure = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(secure, client_address, self)  # type: ignore[arg-type]
        except (ssl.SSLError, ConnectionError):
            pass
        finally:
            with contextlib.suppress(OSError):
                secure.close()


@contextlib.contextmanager
def running(
    cert: Any, ca_path: str, *, port: int = 0, org: SimulatedOrg | None = None
) -> Iterator[SimulatedOrg]:
    """Serve a simulated org (a fresh one unless `org` is given) on 127.0.0.1 until the block
    ends: on `port`, or on a free one. `cert` configures the server's TLS context (a trustme
    LeafCert, or anything with its `configure_cert(context)`); `ca_path` is the CA clients
    trust."""
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(tls)
    standin = org or SimulatedOrg()
    server = _Server(standin, tls, port)
    standin.url = f"https://127.0.0.1:{server.server_address[1]}"
    standin.ca_path = ca_path
    thread = threading.Thread(
        target=server.serve_forever, args=(0.02,), name="simulated-org", daemon=True
    )
    thread.start()
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
