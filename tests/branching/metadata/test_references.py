"""Opt-in: our packages against sfdx-git-delta and SDR on the fixture histories.

Runs only with `SFDX_REFS` pointing at a folder where `sfdx-git-delta` and
`@salesforce/source-deploy-retrieve` are installed and `NODE` at a Node 22 binary (see
benchmarks/package_agreement.py); the default suite never needs Node.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.references
@pytest.mark.skipif(not os.environ.get("SFDX_REFS"), reason="SFDX_REFS is not set")
def test_it_agrees_with_sgd_and_sdr_on_every_fixture_pair() -> None:
    refs = Path(os.environ["SFDX_REFS"])
    if not (refs / "node_modules" / "sfdx-git-delta").exists():
        pytest.skip(f"sfdx-git-delta is not installed under {refs}")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "package_agreement.py")],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
