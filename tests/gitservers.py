"""Real git servers on loopback for the tests: `git daemon` and a smart-HTTP server with auth."""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import trustme
from dulwich.server import FileSystemBackend
from dulwich.web import make_wsgi_chain


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def git(*args: str | Path, cwd: Path | None = None) -> str:
    """Run the git binary (a test oracle and fixture builder, never used by the product)."""
    env = {
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
        "HOME": "/nonexistent",
        "GIT_CONFIG_NOSYSTEM": "1",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        ["git", *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def make_upstream(root: Path, name: str = "upstream.git") -> Path:
    """A bare repository with `main` (two commits) and `uat` (one commit behind)."""
    bare = root / name
    work = root / f"{name}-work"
    git("init", "--bare", "-b", "main", bare)
    git("init", "-b", "main", work)
    (work / "README.md").write_text("hello\n")
    git("add", ".", cwd=work)
    git("commit", "-m", "first", cwd=work)
    git("branch", "uat", cwd=work)
    (work / "a.txt").write_text("a\n")
    git("add", ".", cwd=work)
    git("commit", "-m", "second", cwd=work)
    git("push", bare, "main", "uat", cwd=work)
    return bare


@contextlib.contextmanager
def git_daemon(root: Path) -> Iterator[str]:
    """`git daemon` serving every repository under `root`, pushes allowed; yields git://…/."""
    port = free_port()
    process = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--enable=receive-pack",
            f"--base-path={root}",
            "--listen=127.0.0.1",
            f"--port={port}",
            str(root),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        yield f"git://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=10)


class _RootedBackend(FileSystemBackend):
    """Serve `/name.git` from `root/name.git` (the stock backend treats it as absolute)."""

    def open_repository(self, path: str | bytes):  # type: ignore[no-untyped-def,override]
        text = path.decode() if isinstance(path, bytes) else path
        return super().open_repository(text.lstrip("/"))


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


@contextlib.contextmanager
def http_git_server(
    root: Path, username: str = "", password: str = "", tls: trustme.CA | None = None
) -> Iterator[str]:
    """dulwich's smart-HTTP git server over every repository under `root`, with basic auth;
    over TLS with a certificate from `tls` (a trustme CA) when given."""
    app = make_wsgi_chain(_RootedBackend(str(root)))
    expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    def with_auth(environ, start_response):  # type: ignore[no-untyped-def]
        if username and environ.get("HTTP_AUTHORIZATION") != expected:
            start_response(
                "401 Unauthorized",
                [("WWW-Authenticate", 'Basic realm="git"'), ("Content-Type", "text/plain")],
            )
            return [b"authentication required\n"]
        return app(environ, start_response)

    with _serving(with_auth, tls) as url:
        yield url


@contextlib.contextmanager
def _serving(app, tls: trustme.CA | None = None) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Serve a WSGI app on loopback in a thread (over TLS with a certificate from `tls`)."""
    server = make_server(
        "127.0.0.1", 0, app, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    scheme = "http"
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.issue_cert("127.0.0.1").configure_cert(context)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class SshServer:
    url_prefix: str  # ssh://root@127.0.0.1:PORT
    key_file: str
    known_hosts_file: str


@contextlib.contextmanager
def ssh_git_server(workdir: Path) -> Iterator[SshServer]:
    """OpenSSH's sshd on loopback with a throwaway host key and client key; git on the far side
    serves repositories by absolute path."""
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    workdir.mkdir(parents=True, exist_ok=True)
    host_key, client_key = workdir / "host_key", workdir / "client_key"
    for key in (host_key, client_key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    authorized = workdir / "authorized_keys"
    authorized.write_text(Path(f"{client_key}.pub").read_text())
    authorized.chmod(0o600)
    port = free_port()
    config = workdir / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n"
        f"AuthorizedKeysFile {authorized}\nPidFile {workdir / 'sshd.pid'}\n"
        "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        f"SetEnv PATH=/usr/local/bin:/usr/bin:/bin\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)
    process = subprocess.Popen(
        [sshd, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    known_hosts = workdir / "known_hosts"
    host_public = Path(f"{host_key}.pub").read_text().split()
    known_hosts.write_text(f"[127.0.0.1]:{port} {host_public[0]} {host_public[1]}\n")
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        user = os.environ.get("USER") or "root"
        yield SshServer(f"ssh://{user}@127.0.0.1:{port}", str(client_key), str(known_hosts))
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A TCP server on loopback that accepts every connection and never says a word (a hung
    git server, a black-holed proxy); yields its port. Connections are held until the end."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


@contextlib.contextmanager
def not_git_http_server(
    body: bytes = b"<html>internal wiki: db password hunter2</html>",
) -> Iterator[str]:
    """An http server that answers every request with an HTML page (not git); yields its URL."""

    def app(environ, start_response):  # type: ignore[no-untyped-def]
        start_response("200 OK", [("Content-Type", "text/html")])
        return [body]

    with _serving(app) as url:
        yield url
