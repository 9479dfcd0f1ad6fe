"""Repositories built in tmp_path through the storage layer, for the package builder's tests."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dulwich.repo import Repo

from branching.git.storage import Change, commit_changes, commit_files, init_bare, update_branch

API = "60.0"
D = "force-app/main/default/"
NS = 'xmlns="http://soap.sforce.com/2006/04/metadata"'


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "references: compares with sfdx-git-delta and SDR (needs SFDX_REFS and Node 22)",
    )


def xml(root: str, body: str = "") -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} {NS}>\n{body}</{root}>\n'.encode()


def project(api: str = API, dirs: tuple[str, ...] = ("force-app",)) -> bytes:
    entries = ", ".join(
        f'{{"path": "{d}", "default": {"true" if i == 0 else "false"}}}' for i, d in enumerate(dirs)
    )
    return f'{{"packageDirectories": [{entries}], "sourceApiVersion": "{api}"}}'.encode()


class History:
    """A bare repository whose `main` branch grows one commit per `commit()` call."""

    def __init__(self, path: Path) -> None:
        self.repo: Repo = init_bare(path)
        self.head: bytes | None = None
        self.when = datetime(2026, 1, 1, tzinfo=UTC)

    def commit(self, changes: Mapping[str, Change], message: str = "change") -> str:
        self.when += timedelta(minutes=1)
        if self.head is None:
            files = {path: content for path, content in changes.items() if content is not None}
            new = commit_files(
                self.repo,
                parents=[],
                files=files,
                message=message,
                author="T <t@x>",
                when=self.when,
            )
        else:
            new = commit_changes(
                self.repo,
                parent=self.head,
                changes=dict(changes),
                message=message,
                author="T <t@x>",
                when=self.when,
            )
        update_branch(self.repo, "main", new, self.head)
        self.head = new
        return new.decode()


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    found = History(tmp_path / "repo.git")
    yield found
    found.repo.close()


def replay(history: History, fixture: Path, upto: int) -> list[str]:
    """A fixture history's commits 0..upto (tests/fixtures/sfdx/*/history.json), as commits of
    `history`."""
    spec = json.loads((fixture / "history.json").read_text())
    files = {
        p.relative_to(fixture / "files").as_posix(): p.read_bytes()
        for p in (fixture / "files").rglob("*")
        if p.is_file()
    }
    commits = []
    for step in spec["commits"][: upto + 1]:
        changes: dict[str, bytes | None] = {}
        for operation in step["operations"]:
            if operation["op"] == "write":
                changes[operation["path"]] = operation["content"].encode()
            elif operation["op"] == "replace":
                path = operation["path"]
                text = files[path].decode()
                assert operation["old"] in text
                files[path] = changes[path] = text.replace(
                    operation["old"], operation["new"], 1
                ).encode()
            elif operation["op"] == "delete":
                changes[operation["path"]] = None
            elif operation["op"] == "copy":
                changes.update(files)
        commits.append(history.commit(changes, step["message"]))
    return commits
