"""Real git servers on loopback for the tests: `git daemon` and a smart-HTTP server with auth."""

from __future__ import annotations

import base64
import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

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
def http_git_server(root: Path, username: str = "", password: str = "") -> Iterator[str]:
    """dulwich's smart-HTTP git server over every repository under `root`, with basic auth."""
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

    server = make_server(
        "127.0.0.1", 0, with_auth, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
