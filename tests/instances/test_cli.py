"""The command line: feature_start, promote, approve and reject, with their refusals.

Promotions queued here are not handed to a task cluster (the test's transaction never
commits); where a test needs one to run, it runs the engine itself.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from branching.features import start_feature
from branching.git import storage
from branching.models import Feature
from instances.management.commands import promote as promote_command
from instances.models import Promotion, PromotionStatus
from instances.promotions import engine
from instances.promotions.rules import reject
from tests.gitservers import git

pytestmark = pytest.mark.django_db

INVOICE = "force-app/main/default/classes/Invoice.cls"


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def refused(*args: str, code: int = 2) -> str:
    """The command's message for a refusal, which must be a CommandError (never a traceback)."""
    with pytest.raises(CommandError) as caught:
        run(*args)
    assert caught.value.returncode == code, str(caught.value)
    return str(caught.value)


def head(instance) -> str:
    with storage.open_repo(instance.repository.local_path) as repo:
        return storage.hex_id(storage.branch_head(repo, instance.branch))


def contains(instance, commit: str) -> bool:
    with storage.open_repo(instance.repository.local_path) as repo:
        return storage.is_ancestor(repo, commit, storage.branch_head(repo, instance.branch))


def commit_to(feature: Feature, changes: dict[str, bytes]) -> str:
    with storage.open_repo(feature.repository.local_path) as repo:
        old = storage.branch_head(repo, feature.branch)
        new = storage.commit_changes(
            repo, parent=old, changes=changes, message="work", author="Dev <dev@example.com>"
        )
        storage.update_branch(repo, feature.branch, new, old)
        return storage.hex_id(new)


def feature_in(pipeline, key: str, instance: str, owner, changes: dict[str, bytes]) -> Feature:
    feature = start_feature(
        pipeline["repo"], key=key, title=key, owner=owner, started_from_id=pipeline[instance].pk
    )
    commit_to(feature, changes)
    promotion = Promotion.objects.get(pk=queued(key, pipeline[instance].name, owner))
    engine.run_promotion(promotion.pk, "test-worker")
    promotion.refresh_from_db()
    assert promotion.status == PromotionStatus.SUCCEEDED, promotion.failure_reason
    return feature


def queued(keys: str, target: str, user) -> int:
    out = run("promote", *keys.split(), "--to", target, "--as", user.username)
    return int(out.split()[1].removeprefix("#"))


# --------------------------------------------------------------------------- feature_start


def test_it_starts_a_feature_whose_clone_url_git_can_clone_and_push_to(
    git_pipeline, developer, tmp_path: Path
) -> None:
    out = run(
        "feature_start",
        "--instance",
        "Dev Alice",
        "--key",
        "RM-42",
        "--title",
        "Invoice totals",
        "--as",
        developer.username,
        "--json",
    )
    started = json.loads(out)
    repository = git_pipeline["repo"]
    assert started["key"] == "RM-42"
    assert started["branch"] == "feature/RM-42-invoice-totals"
    assert started["repository"] == repository.name
    assert started["clone_url"] == str(repository.local_path)
    feature = Feature.objects.get(key="RM-42")
    assert feature.owner == developer and feature.started_from == git_pipeline["alice"]
    assert feature.base_commit == head(git_pipeline["prod"]) == started["base_commit"]

    work = tmp_path / "work"
    git("clone", "--quiet", "--branch", started["branch"], started["clone_url"], work)
    (work / "force-app/main/default/classes/Invoice.cls").write_text(
        "public class Invoice {\n  Decimal total;\n}\n"
    )
    git("commit", "--quiet", "-am", "Invoice totals", cwd=work)
    pushed = git("rev-parse", "HEAD", cwd=work)
    git("push", "--quiet", "origin", started["branch"], cwd=work)
    with storage.open_repo(repository.local_path) as repo:
        assert storage.hex_id(storage.branch_head(repo, started["branch"])) == pushed

    # What was pushed is what enters the instance.
    promotion_id = queued("RM-42", "Dev Alice", developer)
    assert engine.run_promotion(promotion_id, "test-worker") == PromotionStatus.SUCCEEDED
    assert contains(git_pipeline["alice"], pushed)


def test_it_makes_the_first_superuser_the_owner_without_as(git_pipeline, personas) -> None:
    out = run("feature_start", "--instance", "Dev Bob", "--key", "RM-7", "--title", "Tax")
    assert "Started RM-7 “Tax” from Dev Bob: branch feature/RM-7-tax" in out
    assert "git clone --branch feature/RM-7-tax " in out
    assert Feature.objects.get(key="RM-7").owner == personas["admin"]


def test_it_refuses_bad_feature_input_with_a_message(git_pipeline, personas) -> None:
    args = ["feature_start", "--key", "RM-1", "--title", "One"]
    assert "There is no instance “Nowhere”. Instances: Dev Alice, Dev Bob" in refused(
        *args, "--instance", "Nowhere"
    )
    assert "There is no user “ghost”" in refused(*args, "--instance", "Dev Alice", "--as", "ghost")
    assert "oscar-outsider may not add features" in refused(
        *args, "--instance", "Dev Alice", "--as", "oscar-outsider"
    )
    message = refused(
        "feature_start", "--instance", "Dev Alice", "--key", "not a key", "--title", "x"
    )
    assert "A feature key is a project code, a dash and a number" in message
    run(*args, "--instance", "Dev Alice")
    assert "already exists" in refused(*args, "--instance", "Dev Bob")
    personas["developer"].is_active = False
    personas["developer"].save()
    assert "inactive" in refused(*args, "--instance", "Dev Bob", "--as", "dan-dev")


def test_it_refuses_a_branch_name_git_cannot_have(git_pipeline, personas) -> None:
    with storage.open_repo(git_pipeline["repo"].local_path) as repo:
        storage.create_branch(repo, "feature", storage.branch_head(repo, "main"))
    message = refused("feature_start", "--instance", "Dev Alice", "--key", "RM-1", "--title", "One")
    assert "Branch “feature” exists, so “feature/RM-1-one” cannot be created" in message
    assert not Feature.objects.exists()


def test_it_needs_a_user_when_there_is_no_superuser(git_pipeline, developer) -> None:
    message = refused("feature_start", "--instance", "Dev Alice", "--key", "RM-1", "--title", "x")
    assert "no active superuser" in message
    assert not Feature.objects.exists()


# --------------------------------------------------------------------------- promote


def test_it_queues_a_promotion_and_says_why_it_waits(git_pipeline, developer) -> None:
    start_feature(
        git_pipeline["repo"],
        key="RM-1",
        title="One",
        owner=developer,
        started_from_id=git_pipeline["alice"].pk,
    )
    first = run("promote", "RM-1", "--to", "Dev Alice", "--as", "dan-dev")
    promotion = Promotion.objects.get()
    assert first.splitlines() == [
        f"Promotion #{promotion.pk} (enter the pipeline): RM-1 into Dev Alice, queued.",
        "Waiting for a worker to pick it up.",
    ]
    assert promotion.requested_by == developer and promotion.direction == "enter"
    second = run("promote", "RM-1", "--to", "Dev Alice", "--as", "dan-dev")
    assert f"Waiting behind promotion #{promotion.pk} to Dev Alice (queued)." in second


def test_it_refuses_bad_promotions_with_a_message(git_pipeline, personas) -> None:
    developer = personas["developer"]
    feature_in(git_pipeline, "RM-1", "alice", developer, {"force-app/one.txt": b"1\n"})
    before = Promotion.objects.count()
    assert "oscar-outsider may not request promotions" in refused(
        "promote", "RM-1", "--to", "Integration", "--as", "oscar-outsider"
    )
    assert "There is no feature RM-404, RM-405." in refused(
        "promote", "RM-1", "RM-404", "RM-405", "--to", "Integration", "--as", "dan-dev"
    )
    assert "There is no instance “Staging”" in refused(
        "promote", "RM-1", "--to", "Staging", "--as", "dan-dev"
    )
    assert "There is no user “ghost”" in refused("promote", "RM-1", "--to", "QA", "--as", "ghost")
    unreachable = refused("promote", "RM-1", "--to", "QA", "--as", "dan-dev")
    assert "RM-1 is not in Integration or its parent UAT" in unreachable
    assert "RM-1 is already in Dev Alice" not in unreachable
    assert "RM-1 is not in" in refused("promote", "RM-1", "--to", "Dev Bob", "--as", "dan-dev")
    assert Promotion.objects.count() == before


def wait_with_worker(monkeypatch: pytest.MonkeyPatch, act=None) -> None:
    """Stand in for the task cluster: each time `promote --wait` sleeps, a worker acts."""

    def sleep(seconds: float) -> None:
        for promotion in Promotion.objects.filter(status=PromotionStatus.QUEUED):
            engine.run_promotion(promotion.pk, "test-worker")
        if act is not None:
            act()

    monkeypatch.setattr(promote_command, "sleep", sleep)


def test_it_waits_and_prints_each_log_line(git_pipeline, developer, monkeypatch) -> None:
    feature_in(git_pipeline, "RM-1", "alice", developer, {"force-app/one.txt": b"1\n"})
    wait_with_worker(monkeypatch)
    out = run("promote", "RM-1", "--to", "Integration", "--as", "dan-dev", "--wait")
    promotion = Promotion.objects.latest("pk")
    lines = out.splitlines()
    assert lines[0] == f"Promotion #{promotion.pk} (promote): RM-1 into Integration, queued."
    messages = [line.split(" ", 1)[1] for line in lines[2:-1]]
    assert messages == list(promotion.log.values_list("message", flat=True))
    assert any(m.startswith("Moved integration from") for m in messages)
    assert lines[-1] == f"Promotion #{promotion.pk} succeeded."


def test_it_fails_the_wait_naming_the_conflicted_paths(
    git_pipeline, developer, monkeypatch
) -> None:
    p = git_pipeline
    feature_in(p, "RM-1", "alice", developer, {INVOICE: b"public class Invoice {\n  A a;\n}\n"})
    run_to = queued("RM-1", "Integration", developer)
    engine.run_promotion(run_to, "test-worker")
    feature_in(p, "RM-2", "bob", developer, {INVOICE: b"public class Invoice {\n  B b;\n}\n"})
    before = head(p["integration"])
    wait_with_worker(monkeypatch)
    message = refused("promote", "RM-2", "--to", "Integration", "--as", "dan-dev", "--wait", code=1)
    assert "is conflicted" in message and f"\n  {INVOICE}\n" in message
    assert Promotion.objects.latest("pk").status == PromotionStatus.CONFLICTED
    assert head(p["integration"]) == before


def test_it_fails_the_wait_on_a_rejection(git_pipeline, personas, monkeypatch) -> None:
    developer, manager = personas["developer"], personas["release_manager"]
    git_pipeline["integration"].requires_approval = True
    git_pipeline["integration"].save()
    feature_in(git_pipeline, "RM-1", "alice", developer, {"force-app/one.txt": b"1\n"})
    wait_with_worker(
        monkeypatch,
        act=lambda: reject(Promotion.objects.latest("pk"), manager, "Not this sprint"),
    )
    message = refused("promote", "RM-1", "--to", "Integration", "--as", "dan-dev", "--wait", code=1)
    assert message.endswith("rejected: Rejected by rita-rm: Not this sprint")


def test_it_gives_up_waiting_after_the_timeout(git_pipeline, developer, monkeypatch) -> None:
    start_feature(
        git_pipeline["repo"],
        key="RM-1",
        title="One",
        owner=developer,
        started_from_id=git_pipeline["alice"].pk,
    )
    monkeypatch.setattr(promote_command, "POLL_SECONDS", 0.05)
    message = refused(
        "promote",
        "RM-1",
        "--to",
        "Dev Alice",
        "--wait",
        "--timeout",
        "0.2",
        "--as",
        "dan-dev",
        code=3,
    )
    assert message.endswith(
        "is still queued after 0.2 s. Waiting for a worker to pick it up. (Is the task "
        "cluster, `manage.py qcluster`, running?)"
    )
    assert Promotion.objects.get().status == PromotionStatus.QUEUED


# --------------------------------------------------------------------------- approve, reject


@pytest.fixture
def awaiting(git_pipeline, personas) -> Promotion:
    """A promotion into Dev Alice, which requires approval, requested by the developer."""
    git_pipeline["alice"].requires_approval = True
    git_pipeline["alice"].save()
    start_feature(
        git_pipeline["repo"],
        key="RM-1",
        title="One",
        owner=personas["developer"],
        started_from_id=git_pipeline["alice"].pk,
    )
    out = run("promote", "RM-1", "--to", "Dev Alice", "--as", "dan-dev")
    assert "Waiting for approval by a release manager other than dan-dev." in out
    promotion = Promotion.objects.get()
    assert promotion.status == PromotionStatus.AWAITING_APPROVAL
    return promotion


def test_it_approves_as_a_release_manager_other_than_the_requester(awaiting, personas) -> None:
    assert "Only release managers approve promotions." in refused(
        "approve", str(awaiting.pk), "--as", "dan-dev"
    )
    assert "There is no user “ghost”" in refused("approve", str(awaiting.pk), "--as", "ghost")
    assert "There is no promotion #999." in refused("approve", "999", "--as", "rita-rm")
    assert "“twelve” is not a promotion number." in refused("approve", "twelve", "--as", "rita-rm")
    awaiting.refresh_from_db()
    assert awaiting.status == PromotionStatus.AWAITING_APPROVAL

    out = run("approve", f"#{awaiting.pk}", "--as", "rita-rm", "--reason", "Looks good")
    assert out.splitlines() == [
        f"Approved promotion #{awaiting.pk} into Dev Alice.",
        "Waiting for a worker to pick it up.",
    ]
    awaiting.refresh_from_db()
    assert awaiting.status == PromotionStatus.QUEUED
    assert awaiting.approvals.get().reason == "Looks good"
    assert "not awaiting approval" in refused("approve", str(awaiting.pk), "--as", "alice-admin")


def test_it_refuses_an_approval_by_the_requester(git_pipeline, personas) -> None:
    git_pipeline["alice"].requires_approval = True
    git_pipeline["alice"].save()
    start_feature(
        git_pipeline["repo"],
        key="RM-1",
        title="One",
        owner=personas["release_manager"],
        started_from_id=git_pipeline["alice"].pk,
    )
    run("promote", "RM-1", "--to", "Dev Alice", "--as", "rita-rm")
    promotion = Promotion.objects.get()
    assert "someone other than its requester" in refused(
        "approve", str(promotion.pk), "--as", "rita-rm"
    )


def test_it_rejects_with_a_reason(awaiting) -> None:
    assert "Only release managers reject promotions." in refused(
        "reject", str(awaiting.pk), "--as", "dan-dev", "--reason", "no"
    )
    assert "Say why" in refused("reject", str(awaiting.pk), "--as", "rita-rm", "--reason", " ")
    with pytest.raises(CommandError, match="--reason"):
        run("reject", str(awaiting.pk), "--as", "rita-rm")
    out = run("reject", str(awaiting.pk), "--as", "rita-rm", "--reason", "Not this sprint")
    assert out == f"Rejected promotion #{awaiting.pk} into Dev Alice.\n"
    awaiting.refresh_from_db()
    assert awaiting.status == PromotionStatus.REJECTED
    assert awaiting.failure_reason == "Rejected by rita-rm: Not this sprint"
