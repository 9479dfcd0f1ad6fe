"""Posting to a URL someone typed in, without letting it reach what it should not.

Webhook URLs are user input. Unless settings allow it, only https is accepted and the host
must resolve to public addresses only (no loopback, private, link-local or reserved ranges).
The address checked is the address connected to (the connection is pinned to it, TLS still
verifies the host name), so a name that resolves differently a second later gains nothing.
Redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

# How much of a receiver's answer is kept (for the delivery log).
ANSWER_LIMIT = 2000


class UnsafeURL(ValueError):
    """The URL may not be posted to; the message says why."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str


def parse(url: str) -> Target:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if settings.WEBHOOK_ALLOW_HTTP else ("https",)
    if scheme not in allowed:
        raise UnsafeURL("Webhook URLs must use https.")
    if not parts.hostname:
        raise UnsafeURL("The URL names no host.")
    if parts.username or parts.password:
        raise UnsafeURL("Put credentials in the secret, not in the URL.")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise UnsafeURL("The URL's port is not a number between 0 and 65535.") from None
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, parts.hostname, port, path)


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def resolve(target: Target) -> str:
    """The address to connect to, after checking every address the name resolves to."""
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UnsafeURL(f"{target.host} does not resolve: {exc.strerror}") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        private = [str(a) for a in addresses if not _is_public(a)]
        if private:
            raise UnsafeURL(
                f"{target.host} resolves to {', '.join(private)}: loopback, private and "
                "link-local addresses are not allowed."
            )
    return str(addresses[0])


def check(url: str) -> None:
    """Raise UnsafeURL when `url` may not be posted to (for forms: the same rules as posting)."""
    resolve(parse(url))


@dataclass(frozen=True)
class Answer:
    status: int
    body: str


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST `body` to `url`; raises UnsafeURL, or urllib3's errors for timeouts and failures."""
    target = parse(url)
    address = resolve(target)
    timeout = urllib3.Timeout(
        connect=settings.WEBHOOK_TIMEOUT_SECONDS, read=settings.WEBHOOK_TIMEOUT_SECONDS
    )
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            target.port,
            timeout=timeout,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            ca_certs=settings.WEBHOOK_CA_BUNDLE or None,
            server_hostname=target.host,
            assert_hostname=target.host,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, target.port, timeout=timeout, retries=False)
    host = target.host if ":" not in target.host else f"[{target.host}]"
    default_port = 443 if target.scheme == "https" else 80
    host_header = host if target.port == default_port else f"{host}:{target.port}"
    with pool:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": host_header},
            redirect=False,
            preload_content=False,
        )
        try:
            answer = response.read(ANSWER_LIMIT, decode_content=False)
        finally:
            response.release_conn()
    return Answer(response.status, answer.decode("utf-8", "replace"))
