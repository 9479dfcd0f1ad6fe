"""/healthz: no login, 200 when the database, data directory and task cluster are fine, else 503."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def health(client) -> tuple[int, dict]:
    response = client.get("/healthz")
    return response.status_code, json.loads(response.content)


def test_it_names_the_missing_task_cluster(client, settings, tmp_path):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    status, body = health(client)
    assert status == 503
    assert body["checks"]["database"] == "ok" and body["checks"]["data_dir"] == "ok"
    assert "no task cluster is running" in body["checks"]["task_cluster"]


def test_it_names_an_unwritable_data_directory(client, settings, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    settings.DATA_DIR = blocker / "data"
    status, body = health(client)
    assert status == 503 and "data directory not writable" in body["checks"]["data_dir"]


def test_it_is_healthy_while_a_real_cluster_runs(client, settings, tmp_path):
    """Start `manage.py qcluster` for real; its heartbeat reaches us through the shared cache."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DEBUG="1", DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="releasemgr.settings")
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True)
    cluster = subprocess.Popen(
        [*manage, "qcluster"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        status, body = health(client)
        while status != 200 and time.monotonic() < deadline:
            time.sleep(0.3)
            status, body = health(client)
        assert status == 200, body
        assert body == {
            "status": "ok",
            "checks": {"database": "ok", "data_dir": "ok", "task_cluster": "ok"},
        }
    finally:
        cluster.send_signal(signal.SIGTERM)  # the cluster stops its own workers
        try:
            cluster.wait(timeout=30)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(cluster.pid, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while health(client)[0] == 200 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert health(client)[0] == 503


def test_it_needs_no_login_and_only_answers_get(client):
    assert client.post("/healthz").status_code == 405
