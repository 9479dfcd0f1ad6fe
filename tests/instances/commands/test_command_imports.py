"""Every command starts in a fresh process: an import cycle that a test run's import order
hides (seed_demo importing branching.sfdx first broke `make run`) shows up here."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
COMMANDS = [
    "seed_demo",
    "serve",
    "simulated_org",
    "feature_start",
    "promote",
    "approve",
    "rollback",
    "reject",
    "create_token",
    "merge_tree",
    "build_package",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_it_loads_in_a_fresh_process(command, tmp_path):
    env = {**os.environ, "DEBUG": "1", "DATA_DIR": str(tmp_path)}
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the project's own settings, as `make run` uses
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", command, "--help"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage:" in result.stdout
