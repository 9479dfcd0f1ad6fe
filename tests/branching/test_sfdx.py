"""Reading the project layout from a commit: every broken file is an answer, never an exception."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from branching.git import storage
from branching.git.storage import Repo
from branching.models import SourceFormat
from branching.sfdx import PackageDirectory, read_project

AUTHOR = "Alice Martin <alice@acme.example>"

CLASS = {"force-app/main/default/classes/A.cls": b"public class A {}\n"}


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repo]:
    with storage.init_bare(tmp_path / "project.git") as opened:
        yield opened


@pytest.fixture
def commit_of(repo: Repo) -> Callable[..., bytes]:
    def make(files: dict[str, bytes]) -> bytes:
        return storage.commit_files(repo, parents=[], files=files, message="m", author=AUTHOR)

    return make


def project_json(**data: object) -> bytes:
    return json.dumps(data, indent=2).encode()


def test_it_reads_a_source_format_project(repo: Repo, commit_of: Callable[..., bytes]) -> None:
    head = commit_of(
        {
            "sfdx-project.json": project_json(
                packageDirectories=[
                    {"path": "force-app", "default": True},
                    {"path": "unpackaged/", "package": "Extras"},
                ],
                sourceApiVersion="62.0",
            ),
            **CLASS,
            "unpackaged/main/default/classes/B.cls": b"public class B {}\n",
        }
    )
    project = read_project(repo, head)
    assert project.ok, project.problems
    assert project.source_format == SourceFormat.SOURCE
    assert project.source_api_version == "62.0"
    assert project.package_directories == (
        PackageDirectory("force-app", default=True),
        PackageDirectory("unpackaged", default=False, package="Extras"),
    )
    assert project.default_directory == PackageDirectory("force-app", default=True)
    assert project.package_directories_data() == [
        {"path": "force-app", "default": True},
        {"path": "unpackaged", "default": False, "package": "Extras"},
    ]


def test_it_accepts_a_byte_order_mark_and_a_str_commit_id(
    repo: Repo, commit_of: Callable[..., bytes]
) -> None:
    raw = b"\xef\xbb\xbf" + project_json(packageDirectories=[{"path": "force-app"}])
    head = commit_of({"sfdx-project.json": raw, **CLASS})
    project = read_project(repo, storage.hex_id(head))
    assert project.ok, project.problems
    assert project.source_api_version == ""
    assert project.default_directory == PackageDirectory("force-app")  # the only one


def test_it_detects_the_metadata_format(repo: Repo, commit_of: Callable[..., bytes]) -> None:
    manifest = b"""<?xml version="1.0" encoding="UTF-8"?>
<Package xmlns="http://soap.sforce.com/2006/04/metadata">
    <types>
        <members>*</members>
        <name>ApexClass</name>
    </types>
    <version>61.0</version>
</Package>
"""
    head = commit_of({"src/package.xml": manifest, "src/classes/A.cls": b"public class A {}"})
    project = read_project(repo, head)
    assert project.ok
    assert project.source_format == SourceFormat.METADATA
    assert project.package_directories == (PackageDirectory("src", default=True),)
    assert project.source_api_version == "61.0"


def test_it_says_when_neither_format_is_there(repo: Repo, commit_of: Callable[..., bytes]) -> None:
    project = read_project(repo, commit_of({"README.md": b"hello"}))
    assert project.source_format is None
    assert not project.ok
    assert "sfdx-project.json" in project.problems[0]
    assert "src/package.xml" in project.problems[0]


@pytest.mark.parametrize(
    "content, problem",
    [
        (b'{"packageDirectories": [', "is not valid JSON: Expecting value at line 1"),
        (b"\xff\xfe{}", "is not UTF-8 text"),
        (b"[]", "must contain a JSON object"),
        (b"{}", "packageDirectories is missing"),
        (project_json(packageDirectories=[]), "must be a non-empty list"),
        (project_json(packageDirectories="force-app"), "must be a non-empty list"),
        (
            project_json(packageDirectories=[{"default": True}]),
            'Package directory #1 has no "path"',
        ),
        (project_json(packageDirectories=["force-app"]), 'Package directory #1 has no "path"'),
        (
            project_json(packageDirectories=[{"path": "../elsewhere"}]),
            "must be a path inside the repository",
        ),
        (
            project_json(packageDirectories=[{"path": "missing-dir", "default": True}]),
            "“missing-dir” does not exist at this commit",
        ),
        (
            project_json(
                packageDirectories=[
                    {"path": "force-app", "default": True},
                    {"path": "force-app/main", "default": True},
                ]
            ),
            "Only one package directory can be the default",
        ),
        (
            project_json(packageDirectories=[{"path": "force-app"}, {"path": "force-app/main"}]),
            "Mark one package directory as the default",
        ),
        (
            project_json(packageDirectories=[{"path": "force-app", "default": "yes"}]),
            '"default" must be true or false',
        ),
        (
            project_json(packageDirectories=[{"path": "force-app"}], sourceApiVersion="62"),
            'sourceApiVersion must be a version such as "62.0", not "62"',
        ),
        (
            project_json(packageDirectories=[{"path": "force-app"}], sourceApiVersion=62.0),
            "sourceApiVersion must be a version",
        ),
    ],
)
def test_it_lists_what_is_wrong_with_a_broken_project_file(
    repo: Repo, commit_of: Callable[..., bytes], content: bytes, problem: str
) -> None:
    project = read_project(repo, commit_of({"sfdx-project.json": content, **CLASS}))
    assert project.source_format == SourceFormat.SOURCE
    assert not project.ok
    assert any(problem in found for found in project.problems), project.problems
    assert project.source_api_version in ("", "62.0")


def test_it_keeps_what_is_valid_next_to_what_is_not(
    repo: Repo, commit_of: Callable[..., bytes]
) -> None:
    content = project_json(
        packageDirectories=[{"path": "force-app", "default": True}, {"nopath": 1}],
        sourceApiVersion="banana",
    )
    project = read_project(repo, commit_of({"sfdx-project.json": content, **CLASS}))
    assert project.package_directories == (PackageDirectory("force-app", default=True),)
    assert project.source_api_version == ""
    assert len(project.problems) == 2


@pytest.mark.parametrize("commit", ["0" * 40, "not-a-commit", b"f" * 40])
def test_it_reports_an_unreadable_commit_instead_of_raising(
    repo: Repo, commit: str | bytes
) -> None:
    project = read_project(repo, commit)
    assert project.source_format is None
    assert project.problems and project.problems[0].startswith("Cannot read commit")


def test_it_reads_the_project_of_a_tree_as_well(
    repo: Repo, commit_of: Callable[..., bytes]
) -> None:
    head = commit_of({"sfdx-project.json": project_json(packageDirectories=[{"path": "x"}])})
    project = read_project(repo, repo[head].tree)
    assert project.problems == ("Package directory “x” does not exist at this commit.",)
