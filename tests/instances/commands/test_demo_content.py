"""The demo repository's files (instances/management/demo/): what the history writes is what
the folders hold, and every file there is written by some commit."""

from __future__ import annotations

from pathlib import Path

from branching.git.storage import Repo, init_bare, list_paths, read_blob
from instances.management.commands.seed_demo import LONG_TERM_BRANCH, MAIN, build_storage
from instances.management.demo.history import (
    CLASSES,
    HERE,
    LONG_TERM_HISTORY,
    MAIN_HISTORY,
    apex_class,
    on_disk,
)


def data_files() -> set[str]:
    """Every file in the folders next to history.py."""
    return {
        path.relative_to(HERE).as_posix()
        for path in HERE.glob("*/**/*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def files_at(repo: Repo, head: bytes) -> dict[str, bytes | None]:
    return {path: read_blob(repo, head, path) for path in list_paths(repo, head)}


def folder(name: str) -> dict[str, bytes]:
    return {
        path.relative_to(HERE / name).as_posix(): path.read_bytes()
        for path in (HERE / name).rglob("*")
        if path.is_file()
    }


def test_every_data_file_is_written_by_a_commit_and_none_is_missing() -> None:
    named = {data for step in MAIN_HISTORY + LONG_TERM_HISTORY for data in step.files.values()}

    assert named == data_files()
    assert all((HERE / data).is_file() for data in named)


def test_no_data_file_has_a_name_git_or_tools_would_take_for_this_repository_s() -> None:
    assert not [path for path in HERE.rglob(".*") if "__pycache__" not in path.parts]
    assert on_disk(".gitignore") == "dot-gitignore"
    assert on_disk("a/.forceignore") == "a/dot-forceignore"
    assert on_disk("a/b.cls") == "a/b.cls"


def test_project_is_main_s_head_and_the_long_term_branch_adds_its_folder(tmp_path: Path) -> None:
    with init_bare(tmp_path / "demo.git", default_branch=MAIN) as repo:
        heads = build_storage(repo)
        main = files_at(repo, heads[MAIN])
        long_term = files_at(repo, heads[LONG_TERM_BRANCH])

    assert {on_disk(path): data for path, data in main.items()} == folder("project")
    assert {on_disk(path): data for path, data in long_term.items()} == {
        **folder("project"),
        **folder("release-2027-q1"),
    }


def test_a_story_class_is_written_as_the_project_s_classes_are() -> None:
    files = apex_class("Footer", "public class Footer {}")

    assert files == {
        f"{CLASSES}/Footer.cls": b"public class Footer {}\n",
        f"{CLASSES}/Footer.cls-meta.xml": (
            HERE / "project" / CLASSES / "InvoiceService.cls-meta.xml"
        ).read_bytes(),
    }
