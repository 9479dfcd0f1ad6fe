"""The seeded demo, end to end, as a developer drives it from a terminal.

`seed_demo`, then the command line (`feature_start`, `promote --wait`) and the git binary
(clone, commit, push through the storage's `path` on the server), with a real `manage.py
qcluster` doing the promotions: a feature goes Dev Alice → Integration → (back) Dev Bob and
lands on exactly those branches; a rival feature conflicts on its way into Integration and
leaves it where it was.
"""

from __future__ import annotations

import json
import os
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from instances.management.commands import promote as promote_command
from instances.models import Direction, Promotion, PromotionLog, PromotionStatus
from tests.gitservers import git
from tests.workers import task_cluster

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SERVICE = "force-app/main/default/classes/InvoiceService.cls"


@pytest.fixture
def demo(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo seeded under tmp_path; returns its bare repository."""
    settings.DATA_DIR = tmp_path
    settings.REPOSITORIES_DIR = tmp_path / "repositories"
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-2027")
    monkeypatch.setattr(promote_command, "POLL_SECONDS", 0.1)
    call_command("seed_demo", "--no-story", stdout=StringIO())  # a quiet pipeline to drive
    return settings.REPOSITORIES_DIR / "acme-salesforce.git"


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def start_and_push(instance: str, key: str, title: str, line: str, work: Path) -> tuple[str, str]:
    """`feature_start --json`, then clone, append `line` to InvoiceService.cls, commit, push."""
    started = json.loads(
        run(
            "feature_start",
            "--instance",
            instance,
            "--key",
            key,
            "--title",
            title,
            "--as",
            "developer",
            "--json",
        )
    )
    git("clone", "--quiet", "--branch", started["branch"], started["path"], work)
    with (work / SERVICE).open("a") as source:
        source.write(line + "\n")
    git("commit", "--quiet", "-am", title, cwd=work)
    git("push", "--quiet", "origin", started["branch"], cwd=work)
    return started["branch"], git("rev-parse", "HEAD", cwd=work)


def promote(key: str, target: str) -> str:
    return run("promote", key, "--to", target, "--as", "developer", "--wait", "--timeout", "60")


def branches_containing(bare: Path, commit: str) -> set[str]:
    out = git("-C", bare, "branch", "--contains", commit, "--format=%(refname:short)")
    return set(out.split())


def head(bare: Path, branch: str) -> str:
    return git("-C", bare, "rev-parse", f"refs/heads/{branch}")


def test_a_feature_travels_the_demo_and_a_rival_conflicts(demo: Path, tmp_path: Path) -> None:
    with task_cluster(tmp_path / "qcluster.log", Q_WORKERS="2"):
        branch, commit = start_and_push(
            "Dev Alice",
            "RM-101",
            "Invoice due dates",
            "// Due dates: net 30 unless the account says otherwise.",
            tmp_path / "alice",
        )
        for target in ("Dev Alice", "Integration", "Dev Bob"):
            out = promote("RM-101", target)
            assert out.splitlines()[-1].endswith(" succeeded."), out
        directions = list(Promotion.objects.order_by("pk").values_list("direction", flat=True))
        assert directions == [Direction.ENTER, Direction.FORWARD, Direction.BACK]
        assert branches_containing(demo, commit) == {branch, "dev/alice", "integration", "dev/bob"}

        rival, _ = start_and_push(
            "Scratch CI",
            "RM-102",
            "Invoice reminders",
            "// Reminders: every 7 days after the due date.",
            tmp_path / "scratch",
        )
        assert promote("RM-102", "Scratch CI").splitlines()[-1].endswith(" succeeded.")
        integration = head(demo, "integration")
        with pytest.raises(CommandError) as caught:
            promote("RM-102", "Integration")
    assert caught.value.returncode == 1
    assert "is conflicted" in str(caught.value) and SERVICE in str(caught.value)
    conflicted = Promotion.objects.latest("pk")
    assert conflicted.status == PromotionStatus.CONFLICTED
    assert [c["path"] for c in conflicted.conflicts] == [SERVICE]
    assert head(demo, "integration") == integration
    # The task cluster did the work, not this process.
    started = list(
        PromotionLog.objects.filter(message__startswith="Started by").values_list(
            "message", flat=True
        )
    )
    assert len(started) == 5
    assert not [m for m in started if m.endswith(f":{os.getpid()}.")]
    assert not git("-C", demo, "for-each-ref", "--format=%(refname)", "refs/heads/releasemgr/")
    assert git("-C", demo, "fsck", "--no-dangling") == ""
