"""Package builder time and memory on a large synthetic repository (about 20,000 files).

    .venv/bin/python benchmarks/package_scale.py [--baseline main] [--runs 3]

Builds the repository once (6,000 classes, 100 objects × 60 fields, 300 documents, 200 LWC
bundles, a real project's `.forceignore`), then measures a full package (git's empty tree →
the commit) and a two-file delta, each run in a fresh process that reports its own peak
memory. With `--baseline REV` the same measurements run on the code of that revision
(extracted with `git archive`, nothing checked out) in alternation with the current code,
and the ratios current / baseline are printed: below 1.00 is better.

Peak memory is the whole process's; `build_mib` is what the two builds add to the process as
it was before them (Python, Django and every app of the project, the package builder's
imports), i.e. the memory the package builder itself needs for the repository.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE = Path(os.environ.get("PACKAGE_SCALE_CODE", ROOT))
sys.path.insert(0, str(CODE))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

D = "force-app/main/default/"
NS = 'xmlns="http://soap.sforce.com/2006/04/metadata"'
# The .forceignore of a typical project (trailheadapps' samples ship this shape).
FORCEIGNORE = b"""# files to leave out of deployments
package.xml
**/jsconfig.json
**/.eslintrc.json
**/__tests__/**
**/*.dup
**/.DS_Store
force-app/main/default/profiles/Admin.profile-meta.xml
**/tsconfig.json
**/*.ts
"""


def xml(root: str, body: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} {NS}>\n{body}</{root}>\n'.encode()


def build(path: Path) -> tuple[str, str, int]:
    from branching.git.storage import commit_changes, commit_files, init_bare

    files = {
        "sfdx-project.json": b'{"packageDirectories": [{"path": "force-app", "default": true}], '
        b'"sourceApiVersion": "60.0"}',
        ".forceignore": FORCEIGNORE,
    }
    meta = xml("ApexClass", "    <apiVersion>60.0</apiVersion>\n")
    for i in range(6000):
        files[f"{D}classes/C{i}.cls"] = f"class C{i} {{}}".encode()
        files[f"{D}classes/C{i}.cls-meta.xml"] = meta
    for o in range(100):
        folder = f"{D}objects/O{o}__c/"
        files[f"{folder}O{o}__c.object-meta.xml"] = xml("CustomObject", "    <label>x</label>\n")
        for f in range(60):
            files[f"{folder}fields/F{f}__c.field-meta.xml"] = xml(
                "CustomField", f"    <fullName>F{f}__c</fullName>\n    <label>L</label>\n"
            )
    for d in range(550):
        files[f"{D}documents/F/d{d}.txt"] = b"x"
        files[f"{D}documents/F/d{d}.document-meta.xml"] = xml("Document", "    <name>d</name>\n")
    bundle_meta = xml("LightningComponentBundle", "    <apiVersion>60.0</apiVersion>\n")
    for b in range(200):
        folder = f"{D}lwc/c{b}/"
        files[f"{folder}c{b}.js"] = b"export default class {}"
        files[f"{folder}c{b}.html"] = b"<template></template>"
        files[f"{folder}c{b}.js-meta.xml"] = bundle_meta
        files[f"{folder}__tests__/c{b}.test.js"] = b"it('works', () => {});"
    repo = init_bare(path)
    first = commit_files(repo, parents=[], files=files, message="all", author="b <b@x>")
    second = commit_changes(
        repo,
        parent=first,
        changes={
            f"{D}classes/C5.cls": b"changed",
            f"{D}objects/O3__c/fields/F7__c.field-meta.xml": None,
        },
        message="two files",
        author="b <b@x>",
    )
    repo.close()
    return first.decode(), second.decode(), len(files)


KEYS = ("full", "delta", "peak_mib", "build_mib")


def _peak_kib() -> int:
    """This process's peak resident memory. Linux's VmHWM, not getrusage's ru_maxrss: the
    latter survives exec, so a child started by this script reported at least the parent's
    size at the fork (the parent holds the 20,000-file repository it just built)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(repo_path: str, first: str, second: str) -> dict[str, float]:
    """Run in a fresh process: times of both builds, and this process's peak memory."""
    import django

    django.setup()
    from dulwich.repo import Repo

    from branching.metadata import EMPTY_TREE, build_package_files

    # The process before building: Python, Django with every app of the project, dulwich, the
    # package builder's own imports (RE2, the registry). What the builds add is theirs.
    before_kib = _peak_kib()
    with Repo(repo_path) as repo:
        start = time.perf_counter()
        full = build_package_files(repo, EMPTY_TREE, first)
        full_seconds = time.perf_counter() - start
        start = time.perf_counter()
        build_package_files(repo, first, second)
        delta_seconds = time.perf_counter() - start
    peak_kib = _peak_kib()
    return {
        "full": full_seconds,
        "delta": delta_seconds,
        "peak_mib": peak_kib / 1024,
        "build_mib": (peak_kib - before_kib) / 1024,
        "files": len(full.files),
    }


def _run(code: Path, repo_path: Path, first: str, second: str) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--measure", str(repo_path), first, second],
        env={**os.environ, "PACKAGE_SCALE_CODE": str(code)},
        capture_output=True,
        text=True,
        check=False,
        cwd=code,
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _extract(revision: str, target: Path) -> None:
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", revision],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="a revision whose code to compare with")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return 0
    import django

    django.setup()
    with tempfile.TemporaryDirectory() as scratch:
        repo_path = Path(scratch) / "scale.git"
        first, second, count = build(repo_path)
        print(f"{count} files in the repository")
        codes = {"current": ROOT}
        if args.baseline:
            codes["baseline"] = Path(scratch) / "baseline"
            _extract(args.baseline, codes["baseline"])
        results: dict[str, list[dict[str, float]]] = {name: [] for name in codes}
        for _ in range(args.runs):
            for name, code in codes.items():
                results[name].append(_run(code, repo_path, first, second))
    best = {
        name: {key: min(run[key] for run in runs) for key in KEYS} for name, runs in results.items()
    }
    for name, numbers in best.items():
        print(
            f"{name:8}: full package {numbers['full']:.2f}s, two-file delta "
            f"{numbers['delta']:.3f}s, peak memory {numbers['peak_mib']:.0f} MiB, of which "
            f"the builds {numbers['build_mib']:.1f} MiB "
            f"({results[name][0]['files']:.0f} package files; best of {args.runs})"
        )
    if "baseline" in best:
        ratios = ", ".join(
            f"{key} {best['current'][key] / best['baseline'][key]:.2f}" for key in KEYS
        )
        print(f"current / baseline ({args.baseline}): {ratios}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
