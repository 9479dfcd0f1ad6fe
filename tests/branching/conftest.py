"""Real git repositories built with the git binary, used as the merge oracle.

git is only ever the *oracle* here: the code under test never runs it.  Each
repository gets an isolated configuration (no global/system config, so a
developer's ``merge.conflictStyle`` cannot change git's answer) and
increasing commit dates (merge-base order depends on them).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from dulwich.repo import Repo

from branching.git.merge import MergeResult, merge_commits

ROOT = Path(__file__).resolve().parents[2]


def load_agreement_harness() -> ModuleType:
    """``benchmarks/merge_agreement.py`` (not a package) loaded by path."""
    path = ROOT / "benchmarks" / "merge_agreement.py"
    spec = importlib.util.spec_from_file_location("merge_agreement", path)
    assert spec is not None and spec.loader is not None
    cached = sys.modules.get("merge_agreement")
    if cached is not None:
        return cached
    module = importlib.util.module_from_spec(spec)
    sys.modules["merge_agreement"] = module  # dataclasses resolve annotations through it
    spec.loader.exec_module(module)
    return module


@dataclass
class GitAnswer:
    tree: str
    conflicts: tuple[str, ...]
    clean: bool


class GitRepo:
    """A throw-away repository with a work tree, driven through the git CLI."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._time = 1_700_000_000
        self.env = dict(os.environ)
        self.env.update(
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_CONFIG_NOSYSTEM="1",
            GIT_AUTHOR_NAME="Test",
            GIT_AUTHOR_EMAIL="test@example.com",
            GIT_COMMITTER_NAME="Test",
            GIT_COMMITTER_EMAIL="test@example.com",
            LC_ALL="C",
        )
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, check: bool = True, data: bytes | None = None) -> str:
        proc = subprocess.run(
            ["git", "-C", str(self.path), *args],
            input=data,
            capture_output=True,
            env=self.env,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr.decode()}")
        return proc.stdout.decode("utf-8", "surrogateescape")

    # -- building history -------------------------------------------------

    def write(self, rel: str, content: str | bytes, *, executable: bool = False) -> None:
        target = self.path / rel
        if target.is_symlink() or target.is_file():
            target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        target.write_bytes(data)
        target.chmod(0o755 if executable else 0o644)

    def symlink(self, rel: str, dest: str) -> None:
        target = self.path / rel
        if target.is_symlink() or target.exists():
            target.unlink()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(dest)

    def chmod(self, rel: str, executable: bool) -> None:
        (self.path / rel).chmod(0o755 if executable else 0o644)

    def remove(self, rel: str) -> None:
        self.git("rm", "-rq", rel)

    def move(self, src: str, dst: str) -> None:
        (self.path / dst).parent.mkdir(parents=True, exist_ok=True)
        self.git("mv", src, dst)

    def commit(self, message: str = "change") -> str:
        self._time += 60
        self.env["GIT_AUTHOR_DATE"] = self.env["GIT_COMMITTER_DATE"] = f"{self._time} +0000"
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.rev("HEAD")

    def branch(self, name: str, start: str = "HEAD") -> None:
        self.git("checkout", "-q", "-b", name, start)

    def checkout(self, name: str) -> None:
        self.git("checkout", "-q", name)

    def merge(self, other: str, *, resolve: dict[str, str] | None = None) -> str:
        """A real merge commit; conflicts are resolved with ``resolve`` contents."""
        self.git("merge", "-q", "--no-ff", "--no-edit", other, check=False)
        for rel, content in (resolve or {}).items():
            self.write(rel, content)
        self.git("add", "-A")
        self._time += 60
        self.env["GIT_AUTHOR_DATE"] = self.env["GIT_COMMITTER_DATE"] = f"{self._time} +0000"
        self.git("commit", "-q", "--no-edit", check=False)
        return self.rev("HEAD")

    def rev(self, name: str) -> str:
        return self.git("rev-parse", name).strip()

    # -- the two merges ---------------------------------------------------

    def git_merge_tree(self, ours: str, theirs: str) -> GitAnswer:
        proc = subprocess.run(
            ["git", "-C", str(self.path), "merge-tree", "--write-tree", "--name-only", "-z"]
            + [ours, theirs],
            capture_output=True,
            env=self.env,
            check=False,
        )
        assert proc.returncode in (0, 1), proc.stderr.decode()
        fields = proc.stdout.split(b"\0")
        conflicts = []
        if proc.returncode == 1:
            for f in fields[1:]:
                if not f:
                    break
                conflicts.append(f.decode("utf-8", "surrogateescape"))
        return GitAnswer(fields[0].decode(), tuple(conflicts), proc.returncode == 0)

    def ours(self, ours: str, theirs: str) -> MergeResult:
        repo = Repo(str(self.path))
        try:
            return merge_commits(
                repo,
                self.rev(ours).encode(),
                self.rev(theirs).encode(),
                ours_label=ours,
                theirs_label=theirs,
            )
        finally:
            repo.close()

    def blob(self, tree: str, rel: str) -> bytes:
        proc = subprocess.run(
            ["git", "-C", str(self.path), "cat-file", "-p", f"{tree}:{rel}"],
            capture_output=True,
            env=self.env,
            check=True,
        )
        return proc.stdout

    def mode(self, tree: str, rel: str) -> str:
        line = self.git("ls-tree", tree, "--", rel).strip()
        return line.split()[0] if line else ""

    def paths(self, tree: str) -> set[str]:
        out = self.git("ls-tree", "-r", "-z", "--name-only", tree)
        return {p for p in out.split("\0") if p}

    def assert_agrees(
        self, ours: str = "ours", theirs: str = "theirs"
    ) -> tuple[GitAnswer, MergeResult]:
        """Our merge must give git's answer: clean flag, conflicted paths, tree id.

        For conflicted merges the trees must match as well, which pins the
        conflict-marker text of every conflicted file; the conflicted blobs
        are compared explicitly too for a readable failure.
        """
        answer = self.git_merge_tree(ours, theirs)
        result = self.ours(ours, theirs)
        assert result.clean == answer.clean, (answer, result.conflicts, result.messages)
        assert set(result.conflicts) == set(answer.conflicts)
        if not answer.clean:
            theirs_paths = self.paths(answer.tree)
            for rel in result.conflicts:
                if rel in theirs_paths:
                    assert self.blob(result.tree.decode(), rel) == self.blob(answer.tree, rel), rel
        assert result.tree.decode() == answer.tree
        return answer, result


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """A git-built repository (git is the oracle; the code under test never runs it)."""
    return GitRepo(tmp_path / "repo")
