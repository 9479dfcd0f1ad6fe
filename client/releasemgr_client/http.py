"""A small JSON client for releasemgr's API on urllib: the token, problem details, 429s."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from releasemgr_client import __version__

# Retry-After is honoured this many times in a row before giving up.
MAX_RATE_RETRIES = 5
# Network hiccups while following a promotion are retried this many times.
MAX_NETWORK_RETRIES = 3


class ApiError(Exception):
    """The server refused (a problem document), or could not be reached."""

    def __init__(self, message: str, status: int = 0, problem: dict[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.problem = problem or {}


class Api:
    def __init__(self, url: str, token: str, timeout: float = 30.0) -> None:
        if not url:
            raise ApiError("Set RELEASEMGR_URL to the server's address (https://…).")
        if not token:
            raise ApiError("Set RELEASEMGR_TOKEN to a personal access token (Settings → Tokens).")
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ApiError(f"RELEASEMGR_URL must be an http(s) address; got {url!r}.")
        self.base = url.rstrip("/") + "/api/v1"
        self.token = token
        self.timeout = timeout

    def get(self, path: str, **query: Any) -> Any:
        return self.request("GET", path, query=query)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.request("POST", path, body=body or {})

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        retry_network: bool = False,
    ) -> Any:
        wanted = {k: v for k, v in (query or {}).items() if v is not None}
        url = self.base + path + ("?" + urllib.parse.urlencode(wanted) if wanted else "")
        data = json.dumps(body).encode() if body is not None else None
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json, application/problem+json",
            "User-Agent": f"releasemgr-client/{__version__}",
        }
        if data is not None:
            headers["Content-Type"] = "application/json"
        rate_retries = network_retries = 0
        while True:
            req = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as response:  # noqa: S310
                    payload = response.read()
                    kind = response.headers.get("Content-Type", "")
                    status = response.status
                if not payload:
                    return None
                try:
                    return json.loads(payload)
                except ValueError:  # a proxy's or a login page's HTML, not the API
                    raise ApiError(
                        f"{self.base} answered {status} with {kind or 'no content type'}, not"
                        " JSON: is RELEASEMGR_URL releasemgr's address?"
                    ) from None
            except urllib.error.HTTPError as exc:
                problem = _problem(exc)
                if exc.code == 429 and rate_retries < MAX_RATE_RETRIES:
                    rate_retries += 1
                    time.sleep(_retry_after(exc))
                    continue
                detail = problem.get("detail") or f"HTTP {exc.code} {exc.reason}"
                raise ApiError(str(detail), exc.code, problem) from None
            except (urllib.error.URLError, OSError) as exc:
                if retry_network and network_retries < MAX_NETWORK_RETRIES:
                    network_retries += 1
                    time.sleep(2.0 * network_retries)
                    continue
                reason = getattr(exc, "reason", exc)
                raise ApiError(f"Could not reach {self.base}: {reason}") from None


def _problem(exc: urllib.error.HTTPError) -> dict[str, Any]:
    try:
        body = json.loads(exc.read() or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _retry_after(exc: urllib.error.HTTPError) -> float:
    try:
        return max(1.0, min(120.0, float(exc.headers.get("Retry-After", "5"))))
    except ValueError:
        return 5.0
