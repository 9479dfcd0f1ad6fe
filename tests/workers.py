"""Real worker processes for the tests: `manage.py qcluster` (or any command) on the test database.

A worker started here reads and writes the very database the test uses (the SQLite test file,
or the PostgreSQL test database) and the git storage under the test's DATA_DIR, so the test
needs committed data: `django_db(transaction=True)`. Each worker runs in its own process
group, and `stop` (called from a `finally`) takes the whole group down, children included.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]

T = TypeVar("T")


def worker_env(**extra: str) -> dict[str, str]:
    """The environment of a `manage.py` process that shares this test's database and storage."""
    repositories = Path(settings.REPOSITORIES_DIR)
    assert repositories.name == "repositories", "point REPOSITORIES_DIR at <DATA_DIR>/repositories"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SQLITE_PATH")}
    env.update(DJANGO_SETTINGS_MODULE="tests.settings", DATA_DIR=str(repositories.parent))
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        env["SQLITE_PATH"] = str(db["NAME"])
    else:
        assert connection.vendor == "postgresql", connection.vendor
        password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
        env["DATABASE_URL"] = (
            f"postgres://{quote(db['USER'], safe='')}{password}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"
        )
    env.update(extra)
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`manage.py <args>` in its own process group, its output in `log` (read it on failure)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), *args],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and everything it started (its process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def stop(process: subprocess.Popen[bytes], grace: float = 15) -> None:
    """SIGTERM the process (a cluster then stops its own workers: signalling them as well
    would make it wait for them forever), then SIGKILL whatever is left after `grace`."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    kill(process)


@contextlib.contextmanager
def task_cluster(log: Path, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """A real `manage.py qcluster` on the test database for the duration of the block."""
    process = start(["qcluster"], worker_env(**env), log)
    try:
        yield process
    finally:
        stop(process)


def wait_for(
    check: Callable[[], T], *, timeout: float, what: str, log: Path | None = None, every=0.1
) -> T:
    """Poll `check` until it is truthy; fail (showing the worker log) after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-4000:] if log and log.exists() else ""
            raise AssertionError(f"Timed out after {timeout} s waiting for {what}.\n{tail}")
        time.sleep(every)
