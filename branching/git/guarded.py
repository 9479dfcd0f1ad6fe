"""dulwich's network clients, made to connect only where `transport` allows, with timeouts.

- http(s): urllib3 connection classes that resolve the host when they open a connection,
  check every address (a redirect to another host is checked too), and connect to a checked
  address (TLS still verifies the certificate against the host name).
- git://: a TCP client that connects to the addresses checked before the call, with a connect
  timeout, then reads with a read timeout.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from contextlib import suppress
from typing import IO, Any

from dulwich.client import TCPGitClient, _fileno_can_read
from dulwich.protocol import (
    DEFAULT_GIT_PROTOCOL_VERSION_FETCH,
    DEFAULT_GIT_PROTOCOL_VERSION_SEND,
    Protocol,
)
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from branching.git.transport import RemotePolicy, RemoteRefused, checked_addresses


def guarded_pools(policy: RemotePolicy) -> dict[str, type[HTTPConnectionPool]]:
    """Pool classes for urllib3's PoolManager whose connections obey `policy`."""

    class _Http(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            self._dns_host = checked_addresses(self.host, self.port or 80, policy)[0]
            return super()._new_conn()

    class _Https(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            self._dns_host = checked_addresses(self.host, self.port or 443, policy)[0]
            return super()._new_conn()

    class _HttpPool(HTTPConnectionPool):
        ConnectionCls = _Http

    class _HttpsPool(HTTPSConnectionPool):
        ConnectionCls = _Https

    return {"http": _HttpPool, "https": _HttpsPool}


class GuardedTCPGitClient(TCPGitClient):
    """git:// to checked addresses only, with the policy's timeouts."""

    def __init__(
        self,
        addresses: list[str],
        host: str,
        port: int | None,
        policy: RemotePolicy,
        **kwargs: Any,
    ) -> None:
        super().__init__(host, port=port, **kwargs)
        self._addresses = addresses
        self._policy = policy

    def _open_socket(self) -> socket.socket:
        error: Exception = RemoteRefused(f"No address to connect to for {self._host}.")
        for address in self._addresses:
            try:
                sock = socket.create_connection(
                    (address, self._port), timeout=self._policy.connect_timeout
                )
            except OSError as exc:
                error = exc
                continue
            sock.settimeout(self._policy.read_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        raise error

    def _connect(
        self,
        cmd: bytes,
        path: str | bytes,
        protocol_version: int | None = None,
    ) -> tuple[Protocol, Callable[[], bool], IO[bytes] | None]:
        # As dulwich's TCPGitClient._connect, with our socket.
        if not isinstance(path, bytes):
            path = path.encode(self._remote_path_encoding)
        sock = self._open_socket()
        rfile = sock.makefile("rb", -1)
        wfile = sock.makefile("wb", 0)

        def close() -> None:
            rfile.close()
            wfile.close()
            sock.close()

        def shutdown_write() -> None:
            wfile.flush()
            with suppress(OSError):
                sock.shutdown(socket.SHUT_WR)

        proto = Protocol(
            rfile.read,
            wfile.write,
            close,
            report_activity=self._report_activity,
            shutdown_write=shutdown_write,
        )
        if path.startswith(b"/~"):
            path = path[1:]
        if cmd == b"upload-pack":
            self.protocol_version = protocol_version or DEFAULT_GIT_PROTOCOL_VERSION_FETCH
        else:
            self.protocol_version = DEFAULT_GIT_PROTOCOL_VERSION_SEND
        version = b""
        if cmd == b"upload-pack" and self.protocol_version == 2:
            version = b"\0\0version=%d\0" % self.protocol_version
        proto.send_cmd(b"git-" + cmd, path, b"host=" + self._host.encode("ascii") + version)
        return proto, lambda: _fileno_can_read(sock.fileno()), None
