"""`manage.py merge_tree`: the git binary's `merge-tree --write-tree --name-only` is the oracle."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parents[2]

CLASS = "force-app/main/default/classes/Invoice.cls"


class History:
    """A small repository with a work tree, built with the git binary."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.time = 1_700_000_000
        self.env = {
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "HOME": str(path),
            "PATH": "/usr/bin:/bin",
            "LC_ALL": "C",
            "GIT_AUTHOR_NAME": "Test",
            "GIT_AUTHOR_EMAIL": "test@example.com",
            "GIT_COMMITTER_NAME": "Test",
            "GIT_COMMITTER_EMAIL": "test@example.com",
        }
        path.mkdir()
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-C", str(self.path), *args],
            capture_output=True,
            text=True,
            env=self.env,
            check=check,
        )

    def commit(self, files: dict[str, str], message: str) -> str:
        for rel, content in files.items():
            target = self.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        self.time += 60
        self.env["GIT_AUTHOR_DATE"] = self.env["GIT_COMMITTER_DATE"] = f"{self.time} +0000"
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.rev("HEAD")

    def rev(self, name: str) -> str:
        return self.git("rev-parse", "--verify", "-q", f"{name}^{{commit}}").stdout.strip()

    def merge_tree(self, ours: str, theirs: str) -> tuple[int, list[str]]:
        """git's answer: exit code, then the tree id and conflicted paths (messages dropped)."""
        proc = self.git("merge-tree", "--write-tree", "--name-only", ours, theirs, check=False)
        assert proc.returncode in (0, 1), proc.stderr
        lines = proc.stdout.split("\n\n")[0].splitlines()
        return proc.returncode, lines


@pytest.fixture
def history(tmp_path: Path) -> History:
    """main: 4 commits and a merge; side conflicts with main in Invoice.cls; clean does not."""
    h = History(tmp_path / "repo")
    h.commit({CLASS: "public class Invoice {\n  Decimal total;\n}\n", "README.md": "hi\n"}, "one")
    h.commit({"docs/a.md": "a\n"}, "two")
    h.git("branch", "side")
    h.git("branch", "clean")
    h.git("branch", "topic")
    h.commit({CLASS: "public class Invoice {\n  Decimal amount;\n}\n"}, "three")
    h.git("checkout", "-q", "side")
    h.commit({CLASS: "public class Invoice {\n  Integer count;\n}\n", "side.txt": "s\n"}, "s1")
    h.commit({"docs/a.md": "a\nside\n"}, "s2")
    h.git("checkout", "-q", "clean")
    h.commit({"clean.txt": "clean\n"}, "c1")
    h.git("checkout", "-q", "topic")
    h.commit({"topic.txt": "topic\n"}, "t1")
    h.git("checkout", "-q", "main")
    h.time += 60
    h.env["GIT_AUTHOR_DATE"] = h.env["GIT_COMMITTER_DATE"] = f"{h.time} +0000"
    h.git("merge", "-q", "--no-ff", "-m", "Merge topic", "topic")
    h.git("tag", "-a", "-m", "release", "v1", "side~1")
    return h


def merge_tree(history: History, *args: str) -> tuple[int, list[str]]:
    """Run the command in this process (no database: the test has no django_db mark)."""
    out = StringIO()
    try:
        call_command("merge_tree", "--repo", str(history.path), *args, stdout=out)
    except SystemExit as exc:
        code = int(exc.code or 0)
    else:
        code = 0
    return code, out.getvalue().splitlines()


PAIRS = [
    ("main", "clean"),  # clean
    ("main", "side"),  # conflicted
    ("main~1", "side"),  # first-parent ancestor
    ("main^", "side~1"),
    ("HEAD^2", "side"),  # the merge's second parent: topic
    ("main~2", "clean~1"),
    ("refs/heads/main", "refs/tags/v1"),  # an annotated tag, peeled
    ("v1^{commit}", "clean^0"),
    ("@", "heads/side"),
]


@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
def test_it_gives_gits_tree_and_conflicts(history: History, ours: str, theirs: str) -> None:
    assert merge_tree(history, ours, theirs) == history.merge_tree(ours, theirs)


def test_it_accepts_full_and_abbreviated_commit_ids(history: History) -> None:
    main, side = history.rev("main"), history.rev("side")
    for ours, theirs in ((main, side), (main[:7], side[:12]), (main.upper(), side[:4])):
        assert merge_tree(history, ours, theirs) == history.merge_tree(ours, theirs)
    code, lines = merge_tree(history, main, side)
    assert code == 1 and lines[1:] == [CLASS]


def test_it_refuses_a_bad_revision_with_a_clear_error(history: History) -> None:
    for ours, theirs, why in [
        ("main", "nope", "no branch, tag or commit is called “nope”"),
        ("main~9", "side", "has no parent."),
        ("main^3", "side", "has no parent number 3."),
        ("main:README.md", "side", "names a file, not a commit"),
        ("main", "0" * 40, "there is no object"),
        ("main", "main^{tree}", "cannot read “^{tree}”"),
    ]:
        with pytest.raises(CommandError, match="Bad revision") as caught:
            call_command("merge_tree", "--repo", str(history.path), ours, theirs)
        assert caught.value.returncode == 2
        assert why in str(caught.value)
    with pytest.raises(CommandError, match="not a git repository"):
        call_command("merge_tree", "--repo", str(history.path / "docs"), "main", "side")
    with pytest.raises(CommandError, match="Give two revisions"):
        call_command("merge_tree", "--repo", str(history.path), "main")


def command_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SQLITE_PATH")}
    env.update(
        DJANGO_SETTINGS_MODULE="releasemgr.settings",
        DEBUG="1",
        DATA_DIR=str(tmp_path / "data"),
        # A database nobody listens on: the command must never need one.
        DATABASE_URL="postgres://nobody@127.0.0.1:9/nowhere",
    )
    return env


def test_it_exits_like_git_merge_tree_in_its_own_process(history: History, tmp_path) -> None:
    manage = [sys.executable, str(ROOT / "manage.py"), "merge_tree", "--repo", str(history.path)]
    env = command_env(tmp_path)
    for ours, theirs in (("main", "clean"), ("main~1", "side")):
        proc = subprocess.run(
            [*manage, ours, theirs], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        code, lines = history.merge_tree(ours, theirs)
        assert (proc.returncode, proc.stdout.splitlines()) == (code, lines), proc.stderr
    bad = subprocess.run(
        [*manage, "main", "nope"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2
    assert "Bad revision “nope”" in bad.stderr and "Traceback" not in bad.stderr


def test_it_answers_a_batch_line_by_line_in_one_process(history: History, tmp_path) -> None:
    main, side = history.rev("main"), history.rev("side")
    lines = [
        "main side",
        "main~1 clean",
        "nope main",
        "",
        f"{main[:8]} {side}",
        "HEAD^2   refs/tags/v1",
        "only-one",
        "main^ side~1",
    ]
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "merge_tree",
            "--repo",
            str(history.path),
            "--batch",
        ],
        env=command_env(tmp_path),
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        # Each answer comes as soon as its question is asked: stdin is still open here.
        process.stdin.write(lines[0] + "\n")
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], 60)
        assert ready, "no answer within 60 s: the line was not flushed"
        answers = [json.loads(process.stdout.readline())]
        assert process.poll() is None
        rest, errors = process.communicate("\n".join(lines[1:]) + "\n", timeout=60)
        assert process.returncode == 0, errors
        answers += [json.loads(line) for line in rest.splitlines()]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    asked = [line.split() for line in lines if line.strip()]
    for answer, words in zip(answers, asked, strict=True):
        assert answer["ours"] == words[0]
        if len(words) != 2:
            assert answer["error"] == "Expected two revisions on the line, found 1."
            continue
        if words[0] == "nope":
            assert answer == {
                "ours": "nope",
                "theirs": "main",
                "error": "Bad revision “nope”: no branch, tag or commit is called “nope”.",
            }
            continue
        code, expected = history.merge_tree(words[0], words[1])
        assert answer["tree"] == expected[0], words
        assert answer["conflicts"] == expected[1:], words
        assert answer["clean"] is (code == 0)
    assert answers[0]["conflicts"] == [CLASS]


def test_it_refuses_revisions_on_the_command_line_with_batch(history: History) -> None:
    with pytest.raises(CommandError, match="--batch reads its pairs from stdin"):
        call_command("merge_tree", "--repo", str(history.path), "--batch", "main", "side")
    out = StringIO()
    call_command(
        "merge_tree",
        "--repo",
        str(history.path),
        "--batch",
        stdin=StringIO("main clean\n"),
        stdout=out,
    )
    [answer] = [json.loads(line) for line in out.getvalue().splitlines()]
    assert answer["tree"] == history.merge_tree("main", "clean")[1][0]


@pytest.mark.parametrize(
    "spec",
    [
        "main~" + "9" * 5000,
        "main~" + "9" * 7,
        "main^" + "1" * 40,
        "main" + "~100" * 1001,
        "m" * 1001,
    ],
)
def test_it_bounds_revision_arithmetic(history: History, spec: str) -> None:
    with pytest.raises(CommandError, match="Bad revision|at most") as caught:
        call_command("merge_tree", "--repo", str(history.path), spec, "side")
    assert caught.value.returncode == 2


def test_it_refuses_a_walk_longer_than_the_bound_with_a_message(history: History) -> None:
    from branching.git import storage
    from branching.git.revisions import BadRevision, resolve_commit

    with storage.open_repo(history.path) as repo:
        for spec, message in [
            ("main~" + "9" * 900, "at most 100,000"),
            ("main" + "~60000" * 2, "more than 100,000 parents"),
            ("x" * 1001, "at most 1000 characters"),
        ]:
            with pytest.raises(BadRevision, match=message):
                resolve_commit(repo, spec)
        assert resolve_commit(repo, "main~1") == history.rev("main~1").encode()
