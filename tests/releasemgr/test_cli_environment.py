"""The command line with an incomplete environment: one line, never a traceback; the commands
that only need a git repository (merge_tree, build_package) need nothing else."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gitservers import git

ROOT = Path(__file__).resolve().parents[2]


def manage(
    *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        env={"PATH": "/usr/bin:/bin", **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def one_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("command", [["promote", "RM-1", "--to", "UAT"], ["migrate"], ["qcluster"]])
def test_it_names_a_missing_secret_key_in_one_line(command):
    result = manage(*command)
    assert result.returncode == 2
    assert "SECRET_KEY is required when DEBUG is off" in one_line(result)


def test_it_refuses_production_without_encryption_keys_even_with_a_key_file(tmp_path):
    (tmp_path / "encryption.key").write_text("x5Xh0JqfYfJ2zY1ywZ9bqC3mT7uWl0xk3n2u6l4q2mA=\n")
    result = manage("check", env={"SECRET_KEY": "s" * 60, "DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert "ENCRYPTION_KEYS is required when DEBUG is off" in one_line(result)


def test_it_names_an_unreachable_database_in_one_line(tmp_path):
    env = {
        "DEBUG": "1",
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
    }
    result = manage("promote", "RM-1", "--to", "UAT", env=env)
    assert result.returncode == 2
    assert "cannot use the database" in one_line(result)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    git("init", "-q", "-b", "main", work)
    (work / "a.txt").write_text("a\n")
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "a", cwd=work)
    git("checkout", "-q", "-b", "side", cwd=work)
    (work / "b.txt").write_text("b\n")
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "b", cwd=work)
    git("checkout", "-q", "main", cwd=work)
    (work / "a.txt").write_text("a2\n")
    git("commit", "-q", "-am", "a2", cwd=work)
    return work


def test_merge_tree_works_with_no_environment_at_all(repo):
    result = manage("merge_tree", "--repo", str(repo), "main", "side")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == git("merge-tree", "--write-tree", "main", "side", cwd=repo)


def test_build_package_works_with_no_environment_at_all(tmp_path):
    work = tmp_path / "project"
    git("init", "-q", "-b", "main", work)
    (work / "sfdx-project.json").write_text('{"packageDirectories": [{"path": "force-app"}]}\n')
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "project", cwd=work)
    classes = work / "force-app/main/default/classes"
    classes.mkdir(parents=True)
    (classes / "Invoice.cls").write_text("public class Invoice {}\n")
    (classes / "Invoice.cls-meta.xml").write_text("<ApexClass/>\n")
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "class", cwd=work)
    first = git("rev-parse", "HEAD~1", cwd=work)
    out = tmp_path / "package"
    result = manage(
        "build_package", "--repo", str(work), "--from", first, "--to", "main", "--output", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert "<members>Invoice</members>" in (out / "package.xml").read_text()


def test_merge_tree_batch_answers_a_pair_with_missing_objects_and_goes_on(repo):
    tree = git("rev-parse", "side^{tree}", cwd=repo)
    (repo / ".git" / "objects" / tree[:2] / tree[2:]).unlink()
    result = manage("merge_tree", "--repo", str(repo), "--batch", stdin="main side\nmain main\n")
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["ours"] == "main" and f"Object {tree} is missing" in first["error"]
    assert second["clean"] is True and second["tree"] == git("rev-parse", "main^{tree}", cwd=repo)
    single = manage("merge_tree", "--repo", str(repo), "main", "side")
    assert single.returncode == 2 and "is missing" in one_line(single)
