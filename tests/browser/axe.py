"""axe-core, the accessibility engine behind Lighthouse and most audit tools, for the browser
tests: installed from the npm registry, pinned, into a cache beside the repository (never into
it), once per machine."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
VERSION = "4.14.1"
INSTALL_TIMEOUT = 600


def cache_dir() -> Path:
    configured = os.environ.get("AXE_CACHE")
    return Path(configured) if configured else REPOSITORY / "var" / "cache" / "axe"


def axe_source() -> str:
    """The text of axe.min.js, installing axe-core first if needed."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed (apt-get install npm): axe-core cannot be had")
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    script = root / "node_modules" / "axe-core" / "axe.min.js"
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = root / ".installed"
        if not script.exists() or not stamp.exists() or stamp.read_text() != VERSION:
            manifest = {
                "name": "releasemgr-axe",
                "private": True,
                "dependencies": {"axe-core": VERSION},
            }
            (root / "package.json").write_text(json.dumps(manifest) + "\n")
            result = subprocess.run(  # noqa: S603
                [npm, "install", "--no-audit", "--no-fund", "--ignore-scripts"],
                cwd=root,
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT,
                check=False,
            )
            if result.returncode != 0:
                raise RuntimeError(
                    f"npm install axe-core@{VERSION} failed:\n{result.stderr[-2000:]}"
                )
            stamp.write_text(VERSION)
    return script.read_text()
