"""Invariants 3 and 4 with real worker processes, on whichever database the suite runs on.

Run once on SQLite and once with DATABASE_URL (PostgreSQL): the workers are real
`manage.py` processes sharing the test database and the git storage with the test.
"""

from __future__ import annotations

import subprocess
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, connections
from django.utils import timezone

from branching.features import start_feature
from branching.git import storage
from instances.models import Promotion, PromotionLog, PromotionStatus, Step
from instances.models.promotion import TERMINAL
from instances.promotions import engine, running, steps, tasks
from instances.promotions.rules import request_promotion
from tests.workers import kill, start, task_cluster, wait_for, worker_env

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CLASSES = "force-app/main/default/classes"


def git(repository, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(repository.local_path), *args],
        capture_output=True,
        text=True,
        check=False,
        env={"GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent", "PATH": "/usr/bin:/bin"},
    )


def head(instance) -> str:
    with storage.open_repo(instance.repository.local_path) as repo:
        return storage.hex_id(storage.branch_head(repo, instance.branch))


def feature_with_file(pipeline, developer, n: int, instance) -> tuple[object, str]:
    """A feature started from `instance` with one commit adding a file of its own."""
    feature = start_feature(
        pipeline["repo"],
        key=f"RM-{n}",
        title=f"Class {n}",
        owner=developer,
        started_from_id=instance.pk,
    )
    with storage.open_repo(pipeline["repo"].local_path) as repo:
        old = storage.branch_head(repo, feature.branch)
        new = storage.commit_changes(
            repo,
            parent=old,
            changes={f"{CLASSES}/Class{n}.cls": f"public class Class{n} {{\n}}\n".encode()},
            message=f"Class {n}",
            author="Dev <dev@example.com>",
        )
        storage.update_branch(repo, feature.branch, new, old)
    return feature, storage.hex_id(new)


def test_it_loses_no_merge_and_never_overlaps_on_a_target_with_four_workers(
    git_pipeline, developer, tmp_path: Path
) -> None:
    targets = [git_pipeline["alice"], git_pipeline["bob"]]
    features = [
        (target, *feature_with_file(git_pipeline, developer, n, target))
        for n in range(1, 41)
        for target in [targets[n % 2]]
    ]
    log = tmp_path / "qcluster.log"
    with task_cluster(log, Q_WORKERS="4", PROMOTION_STEP_PAUSE="0.05"):
        # Queued while the cluster runs: each request hands a task to the ORM broker on commit.
        promotions = [
            request_promotion(features=[feature], target=target, user=developer)
            for target, feature, _commit in features
        ]
        ids = [p.pk for p in promotions]

        def all_terminal() -> bool:
            return not Promotion.objects.filter(pk__in=ids).exclude(status__in=TERMINAL).exists()

        wait_for(all_terminal, timeout=240, every=0.5, what="40 promotions to end", log=log)

    statuses = dict(Promotion.objects.filter(pk__in=ids).values_list("pk", "status"))
    failed = {
        pk: Promotion.objects.get(pk=pk).failure_reason
        for pk, status in statuses.items()
        if status != PromotionStatus.SUCCEEDED
    }
    assert not failed
    repository = git_pipeline["repo"]
    for target, feature, commit in features:
        found = git(repository, "merge-base", "--is-ancestor", commit, target.branch)
        assert found.returncode == 0, f"{feature.key} is missing from {target.branch}"
    windows_by_target = {}
    for target in targets:
        merges = git(repository, "rev-list", "--first-parent", "--merges", "--count", target.branch)
        assert merges.stdout.strip() == "20", target.branch
        windows = windows_by_target[target.name] = []
        for promotion in Promotion.objects.filter(target=target):
            starts = PromotionLog.objects.filter(
                promotion=promotion, message__startswith="Started by"
            )
            assert starts.count() == 1, promotion.pk
            assert not promotion.log.filter(message__startswith="Resumed by").exists()
            windows.append((starts.get().at, promotion.finished_at, promotion.pk))
        windows.sort()
        for (_, finished, earlier), (started, _, later) in zip(windows, windows[1:], strict=False):
            assert finished < started, f"#{earlier} and #{later} overlap on {target.name}"
    # ... while promotions to different targets did run side by side.
    assert any(
        a_start < b_end and b_start < a_end
        for a_start, a_end, _ in windows_by_target["Dev Alice"]
        for b_start, b_end, _ in windows_by_target["Dev Bob"]
    ), "the two targets' promotions never ran at the same time"
    assert not [b for b in storage_branches(repository) if b.startswith("releasemgr/")]


def storage_branches(repository) -> list[str]:
    with storage.open_repo(repository.local_path) as repo:
        return storage.list_branches(repo)


def test_a_killed_worker_leaves_the_target_unmoved_and_the_promotion_resumable(
    git_pipeline, developer, tmp_path: Path
) -> None:
    alice = git_pipeline["alice"]
    (one, one_commit), (two, two_commit) = (
        feature_with_file(git_pipeline, developer, n, alice) for n in (1, 2)
    )
    promotion = request_promotion(features=[one, two], target=alice, user=developer)
    before = head(alice)
    log = tmp_path / "worker.log"
    code = (
        "from instances.promotions.engine import run_promotion; "
        f"run_promotion({promotion.pk}, 'doomed')"
    )
    env = worker_env(PROMOTION_STEP_PAUSE="2", PROMOTION_LEASE_SECONDS="3")
    worker = start(["shell", "-c", code], env, log)
    try:

        def merged() -> bool:
            promotion.refresh_from_db()
            return promotion.step >= Step.MERGED

        wait_for(merged, timeout=60, what="the worker to merge", log=log)
        kill(worker)
    finally:
        kill(worker)
    promotion.refresh_from_db()
    assert (promotion.status, promotion.step) == (PromotionStatus.RUNNING, Step.MERGED)
    assert promotion.claimed_by == "doomed"
    assert head(alice) == before
    assert promotion.merged_head and promotion.merged_head != before
    # While the dead worker's lease runs, nobody else may take the promotion over.
    assert promotion.lease_until is not None
    if timezone.now() < promotion.lease_until - timedelta(seconds=0.5):
        assert engine.run_promotion(promotion.pk, "too-early") == "not runnable now"
        assert tasks.dispatch() == []

    def lease_expired() -> bool:
        return timezone.now() > promotion.lease_until

    wait_for(lease_expired, timeout=10, what="the lease to expire")
    assert tasks.dispatch() == [promotion.pk]
    assert tasks.run_promotion(promotion.pk) == PromotionStatus.SUCCEEDED

    promotion.refresh_from_db()
    resumed = promotion.log.filter(message__startswith="Resumed by")
    assert resumed.count() == 1
    assert "after step “Features merged” (doomed stopped answering)" in resumed.get().message
    assert promotion.target_head_after == promotion.merged_head == head(alice)
    repository = git_pipeline["repo"]
    for commit in (one_commit, two_commit):
        assert git(repository, "merge-base", "--is-ancestor", commit, alice.branch).returncode == 0
    merges = git(
        repository, "rev-list", "--first-parent", "--merges", "--count", f"{before}..dev/alice"
    )
    assert merges.stdout.strip() == "2"
    assert not [b for b in storage_branches(repository) if b.startswith("releasemgr/")]


# --------------------------------------------------------------------------- ending a promotion


def test_a_worker_that_lost_its_claim_leaves_the_new_holders_temporary_branch(
    git_pipeline, developer
) -> None:
    """A worker whose lease ran out (a long step) and that then fails must not tear down the
    temporary branch of the worker that resumed the promotion meanwhile."""
    alice = git_pipeline["alice"]
    feature, commit = feature_with_file(git_pipeline, developer, 1, alice)
    promotion = request_promotion(features=[feature], target=alice, user=developer)
    slow = engine.claim(promotion.pk, "slow")
    assert slow is not None
    Promotion.objects.filter(pk=promotion.pk).update(lease_until=timezone.now() - timedelta(1))
    rescuer = engine.claim(promotion.pk, "rescuer")
    assert rescuer is not None
    rescue = running.Run(rescuer, "rescuer")
    with storage.open_repo(alice.repository.local_path) as repo:
        steps.check(rescue, repo)
        steps.create_temp_branch(rescue, repo)
    temp = f"releasemgr/promotion-{promotion.pk}"

    engine._finish(running.Run(slow, "slow"), PromotionStatus.CONFLICTED, "too late")

    promotion.refresh_from_db()
    assert (promotion.status, promotion.claimed_by) == (PromotionStatus.RUNNING, "rescuer")
    assert temp in storage_branches(git_pipeline["repo"])


def test_a_watcher_never_sees_a_finished_promotion_without_its_last_log_line(
    git_pipeline, developer
) -> None:
    """`promote --wait` and the web page stop polling once a promotion is terminal: by then its
    last log line must be there to read."""
    alice = git_pipeline["alice"]
    path = f"{CLASSES}/Shared.cls"
    for n, body in ((1, b"public class Shared { A a; }\n"), (2, b"public class Shared { B b; }\n")):
        feature = start_feature(
            git_pipeline["repo"],
            key=f"RM-{n}",
            title="Shared",
            owner=developer,
            started_from_id=alice.pk,
        )
        with storage.open_repo(alice.repository.local_path) as repo:
            old = storage.branch_head(repo, feature.branch)
            new = storage.commit_changes(
                repo, parent=old, changes={path: body}, message="x", author="D <d@example.com>"
            )
            storage.update_branch(repo, feature.branch, new, old)
        promotion = request_promotion(features=[feature], target=alice, user=developer)
    seen: list[tuple[str, bool]] = []

    def look() -> None:
        try:
            status = Promotion.objects.get(pk=promotion.pk).status
            logged = promotion.log.filter(message__startswith="Conflicted").exists()
            seen.append((status, logged))
        finally:
            connections.close_all()

    def watch(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if (
            sql.startswith("UPDATE")
            and "instances_promotion" in sql
            and "conflicted" in [str(p) for p in params or ()]
        ):
            watcher = threading.Thread(target=look)
            watcher.start()
            watcher.join(timeout=30)
        return result

    engine.run_promotion(promotion.pk - 1, "worker")
    with connection.execute_wrapper(watch):
        assert engine.run_promotion(promotion.pk, "worker") == PromotionStatus.CONFLICTED
    assert seen, "the watcher never looked"
    assert all(logged for status, logged in seen if status == PromotionStatus.CONFLICTED), seen
    promotion.refresh_from_db()
    assert promotion.failure_reason == f"RM-2 conflicts with Dev Alice: {path}"
