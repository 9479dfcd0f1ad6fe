"""Package builder timing on a large synthetic repository (about 19,000 files).

    .venv/bin/python benchmarks/package_scale.py

Prints the time of a full package (git's empty tree → the commit) and of a two-file delta.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from branching.git.storage import commit_changes, commit_files, init_bare  # noqa: E402
from branching.metadata import EMPTY_TREE, build_package_files  # noqa: E402

D = "force-app/main/default/"
NS = 'xmlns="http://soap.sforce.com/2006/04/metadata"'


def xml(root: str, body: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} {NS}>\n{body}</{root}>\n'.encode()


def main() -> None:
    files = {
        "sfdx-project.json": b'{"packageDirectories": [{"path": "force-app", "default": true}], '
        b'"sourceApiVersion": "60.0"}'
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
    for d in range(300):
        files[f"{D}documents/F/d{d}.txt"] = b"x"
        files[f"{D}documents/F/d{d}.document-meta.xml"] = xml("Document", "    <name>d</name>\n")
    repo = init_bare(Path(tempfile.mkdtemp()) / "scale.git")
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
    print(f"{len(files)} files")
    start = time.perf_counter()
    package = build_package_files(repo, EMPTY_TREE, first.decode())
    print(f"full package: {time.perf_counter() - start:.2f}s, {len(package.files)} files")
    start = time.perf_counter()
    package = build_package_files(repo, first.decode(), second.decode())
    print(f"two-file delta: {time.perf_counter() - start:.3f}s, {package.delta.package}")
    repo.close()


if __name__ == "__main__":
    main()
