"""`manage.py build_package`."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from branching.metadata import EMPTY_TREE
from tests.branching.metadata.conftest import D, History, project, xml

CLASS_META = xml("ApexClass", "    <apiVersion>60.0</apiVersion>\n")


def run(*args: str) -> str:
    out = StringIO()
    call_command("build_package", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def repo(history: History) -> tuple[History, str]:
    first = history.commit(
        {
            "sfdx-project.json": project(),
            D + "classes/Foo.cls": b"class Foo {}",
            D + "classes/Foo.cls-meta.xml": CLASS_META,
        }
    )
    history.commit(
        {
            D + "classes/Foo.cls": None,
            D + "classes/Foo.cls-meta.xml": None,
            D + "classes/Bar.cls": b"class Bar {}",
            D + "classes/Bar.cls-meta.xml": CLASS_META,
        }
    )
    return history, first


def test_it_writes_the_package_for_branch_and_commit_revisions(
    repo: tuple[History, str], tmp_path: Path
) -> None:
    history, first = repo
    out = tmp_path / "pkg"
    message = run(
        "--repo", history.repo.path, "--from", first, "--to", "main", "--output", str(out)
    )
    assert "1 component(s) to deploy, 1 to delete" in message
    assert sorted(p.name for p in out.rglob("*") if p.is_file()) == [
        "Bar.cls",
        "Bar.cls-meta.xml",
        "destructiveChanges.xml",
        "package.xml",
    ]
    assert b"<members>Bar</members>" in (out / "package.xml").read_bytes()


def test_it_builds_everything_from_the_empty_tree(
    repo: tuple[History, str], tmp_path: Path
) -> None:
    history, _ = repo
    out = tmp_path / "all"
    run("--repo", history.repo.path, "--from", EMPTY_TREE, "--to", "main", "--output", str(out))
    assert not (out / "destructiveChanges.xml").exists()
    assert (out / "classes" / "Bar.cls").read_bytes() == b"class Bar {}"


def test_it_reads_revisions_as_merge_tree_does(repo: tuple[History, str], tmp_path: Path) -> None:
    """`main~1`, `main^`, `HEAD~1` and `@`: the one resolver of branching.git.revisions."""
    history, first = repo
    for from_rev, to_rev in [("main~1", "main"), ("main^", "@"), (first[:10], "HEAD^0")]:
        out = tmp_path / from_rev.replace("~", "-").replace("^", "-")
        message = run(
            "--repo", history.repo.path, "--from", from_rev, "--to", to_rev, "--output", str(out)
        )
        assert "1 component(s) to deploy, 1 to delete" in message
        assert b"<members>Bar</members>" in (out / "package.xml").read_bytes()


@pytest.mark.parametrize(
    ("from_rev", "to_rev", "message"),
    [
        ("nope", "main", "no branch, tag or commit is called “nope”"),
        (EMPTY_TREE, EMPTY_TREE, "only be the starting point"),
        ("main", "deadbeef" * 5, "there is no object deadbeef"),
        ("main~5", "main", "has no parent"),
        ("main..HEAD", "main", "Bad revision “main..HEAD”"),
    ],
)
def test_it_explains_bad_revisions(
    repo: tuple[History, str], tmp_path: Path, from_rev: str, to_rev: str, message: str
) -> None:
    history, _ = repo
    with pytest.raises(CommandError, match=message):
        run(
            "--repo",
            history.repo.path,
            "--from",
            from_rev,
            "--to",
            to_rev,
            "--output",
            str(tmp_path / "o"),
        )


def test_it_explains_bad_paths(repo: tuple[History, str], tmp_path: Path) -> None:
    history, _ = repo
    with pytest.raises(CommandError, match="No repository"):
        run("--repo", str(tmp_path / "missing"), "--from", "main", "--to", "main", "--output", "x")
    (tmp_path / "plain").mkdir()
    with pytest.raises(CommandError, match="is not a git repository"):
        run("--repo", str(tmp_path / "plain"), "--from", "main", "--to", "main", "--output", "x")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "file").write_text("x")
    with pytest.raises(CommandError, match="is not empty"):
        run("--repo", history.repo.path, "--from", "main", "--to", "main", "--output", str(busy))


def test_it_explains_a_repository_that_is_not_a_salesforce_project(
    history: History, tmp_path: Path
) -> None:
    history.commit({"README.md": b"hello"})
    with pytest.raises(CommandError, match="sfdx-project.json"):
        run(
            "--repo",
            history.repo.path,
            "--from",
            EMPTY_TREE,
            "--to",
            "main",
            "--output",
            str(tmp_path / "o"),
        )
