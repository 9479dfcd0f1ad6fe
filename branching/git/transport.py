"""Where the server may connect for git, and how: URL rules, address checks, timeouts.

A release manager types a remote URL; the server then connects there with the repository's
secret. So a URL is held to rules before it is saved (`url_problem`, no network needed) and
again when the connection is made (`checked_addresses`), because a host name can resolve
anywhere by then:

- `file://` URLs and local paths only under a configured root (default: none at all);
- no credentials inside the URL (they go in the username and secret fields, encrypted);
- plain `http://` and `git://` only when allowed (they send everything in the clear);
- no host or user starting with `-` (ssh would read it as an option);
- never an address that is loopback, private, link-local or otherwise not global, unless
  allowed. The check happens at connect time on the addresses the connection then uses: the
  http(s) and git clients connect to the address that was checked, and ssh is pointed at it
  (with the host name kept for its known_hosts lookup), so a name that resolves differently a
  moment later changes nothing.

Every network operation has a connect timeout and a read timeout (`RemotePolicy`).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

__all__ = [
    "ParsedRemote",
    "RemotePolicy",
    "RemoteRefused",
    "checked_addresses",
    "display_url",
    "parse_remote_url",
    "url_problem",
]

_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/:\s]+)@)?(?P<host>[^@/:\s\[\]]+):(?!//)(?P<path>.+)$")
_SCHEMES = ("file", "git", "http", "https", "ssh")
_DEFAULT_PORTS = {"git": 9418, "http": 80, "https": 443, "ssh": 22}
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


class RemoteRefused(Exception):
    """The server will not connect to this remote; the message says which rule and why."""


@dataclass(frozen=True)
class RemotePolicy:
    """What a Remote may reach. The defaults are the strict ones: nothing local, nothing in
    the clear, nothing on a private network; callers (the settings) loosen them explicitly."""

    local_root: str = ""  # file:// and local paths are allowed only under this folder
    allow_insecure: bool = False  # http:// and git://
    allow_private: bool = False  # loopback, private, link-local, … addresses
    connect_timeout: float = 10.0
    read_timeout: float = 120.0


@dataclass(frozen=True)
class ParsedRemote:
    scheme: str  # file, git, http, https, ssh (scp-like user@host:path is ssh)
    host: str = ""
    port: int | None = None
    user: str = ""
    password: str = ""
    path: str = ""

    @property
    def effective_port(self) -> int:
        return self.port or _DEFAULT_PORTS.get(self.scheme, 0)


def parse_remote_url(url: str) -> ParsedRemote:
    """Split a remote URL the way git reads it; raises RemoteRefused for what git cannot use."""
    if any(ord(ch) < 0x20 or ch == "\x7f" for ch in url) or " " in url:
        raise RemoteRefused("A remote URL cannot contain spaces or control characters.")
    if url.startswith("/"):
        return ParsedRemote("file", path=url)
    if "://" not in url:
        match = _SCP_LIKE.match(url)
        if match is None:
            raise RemoteRefused(
                "Give a URL git can fetch: https://, ssh://, git://, file:// or user@host:path."
            )
        return ParsedRemote("ssh", host=match["host"], user=match["user"] or "", path=match["path"])
    scheme = url.split("://", 1)[0].lower()
    if scheme not in _SCHEMES:
        raise RemoteRefused(
            "Give a URL git can fetch: https://, ssh://, git://, file:// or user@host:path."
        )
    parts = urlsplit(url)
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise RemoteRefused("A file:// URL names a folder on this machine: file:///path.")
        return ParsedRemote("file", path=parts.path)
    try:
        port = parts.port
    except ValueError:
        raise RemoteRefused("The port of the remote URL is not a number from 1 to 65535.") from None
    return ParsedRemote(
        scheme,
        host=parts.hostname or "",
        port=port,
        user=parts.username or "",
        password=parts.password or "",
        path=parts.path,
    )


def url_problem(url: str, policy: RemotePolicy) -> str | None:
    """Why the server may not use `url` as a remote, or None. No network is touched."""
    try:
        remote = parse_remote_url(url)
    except RemoteRefused as exc:
        return str(exc)
    if remote.scheme == "file":
        return _local_problem(remote.path, policy)
    if not remote.host:
        return "The remote URL names no host."
    if remote.host.startswith("-") or remote.user.startswith("-"):
        return "A remote's host or user cannot start with '-'."
    if remote.password or (remote.user and remote.scheme in ("http", "https", "git")):
        return (
            "Put credentials in the username and secret fields (stored encrypted), not in the URL."
        )
    if remote.scheme in ("http", "git") and not policy.allow_insecure:
        return (
            f"{remote.scheme}:// sends everything unencrypted; use https:// or ssh:// (or set "
            "GIT_ALLOW_INSECURE_TRANSPORTS)."
        )
    literal = _literal_address(remote.host)
    if literal is not None and not policy.allow_private and not _is_public(literal):
        return _private_message(remote.host, str(literal))
    return None


def _local_problem(path: str, policy: RemotePolicy) -> str | None:
    if not policy.local_root:
        return "Local paths and file:// remotes are not allowed on this server (GIT_LOCAL_ROOT)."
    root = Path(policy.local_root).resolve()
    target = Path(path).resolve()
    if target != root and root not in target.parents:
        return f"Local paths and file:// remotes must be under {root} (GIT_LOCAL_ROOT)."
    return None


def local_path(url: str, policy: RemotePolicy) -> str:
    """The checked folder of a file:// URL or local path."""
    problem = url_problem(url, policy)
    if problem:
        raise RemoteRefused(problem)
    return str(Path(parse_remote_url(url).path).resolve())


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _private_message(host: str, address: str) -> str:
    where = host if host == address else f"{host} ({address})"
    return (
        f"{where} is a loopback, private or link-local address; the server does not connect "
        "there (set GIT_ALLOW_PRIVATE_ADDRESSES to allow it)."
    )


def checked_addresses(host: str, port: int, policy: RemotePolicy) -> list[str]:
    """The addresses `host` resolves to now, every one of them allowed by `policy`.

    Resolution happens here, at connect time; the caller connects to these addresses only.
    """
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise RemoteRefused(f"Cannot resolve {host}: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not policy.allow_private:
        for address in addresses:
            if not _is_public(ipaddress.ip_address(address.split("%")[0])):
                raise RemoteRefused(_private_message(host, address))
    if not addresses:
        raise RemoteRefused(f"Cannot resolve {host}.")
    return addresses


def display_url(url: str) -> str:
    """The URL without any credentials in it: what every page and message shows."""
    return _USERINFO.sub("", url)
