"""Start-up checks: a task cluster that would kill a long deployment refuses to start."""

import os
import subprocess
import sys
from pathlib import Path

from django.core.checks import run_checks

from releasemgr.checks import longest_task_seconds

ROOT = Path(__file__).resolve().parents[2]


def test_it_accepts_the_default_timeouts():
    assert not [m for m in run_checks() if m.id == "releasemgr.E001"]


def test_it_refuses_a_task_timeout_shorter_than_the_deployments_it_waits_for(settings):
    settings.DEPLOY_TIMEOUT_SECONDS = 3 * 3600
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 3600}
    [error] = [m for m in run_checks() if m.id == "releasemgr.E001"]
    assert "Q_TIMEOUT (3600 s)" in error.msg and f"{longest_task_seconds()} s" in error.msg


def _manage(*args: str, **environment: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("Q_", "DEPLOY_"))}
    env.update(DJANGO_SETTINGS_MODULE="tests.settings", **environment)
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_cluster_does_not_start_with_a_timeout_that_kills_deployments():
    result = _manage("qcluster", Q_TIMEOUT="3600", DEPLOY_TIMEOUT_SECONDS="10800")
    assert result.returncode != 0
    assert "releasemgr.E001" in result.stderr and "Q_TIMEOUT (3600 s)" in result.stderr


def test_the_task_timeout_follows_the_deployment_timeout_unless_set():
    code = "from django.conf import settings; print(settings.Q_CLUSTER['timeout'])"
    result = _manage("shell", "-c", code, DEPLOY_TIMEOUT_SECONDS="600")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == str(2 * 600 + 900)
