"""Rolling back a promotion on real bare repositories, with the git binary as the oracle:
the rollback's tree is `git revert -m 1 <merge>`'s, clean or conflicted, and a rolled-back
feature promoted again comes back with its content (docs/rollback.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from branching.git import storage
from branching.metadata.package import build_package_files
from instances.environments import windows
from instances.models import (
    Direction,
    FeaturePresence,
    Freeze,
    Promotion,
    PromotionStatus,
)
from instances.notifications import events
from instances.promotions import engine
from instances.promotions.approvals import subject_of
from instances.promotions.errors import PromotionError
from instances.promotions.queue import waiting_reason
from instances.promotions.requests import dry_run
from instances.promotions.routing import route_to
from instances.promotions.rules import (
    approve,
    cancel,
    request_promotion,
    request_rollback,
    retry,
)
from releasemgr.models import AuditEvent
from releasemgr.roles import RELEASE_MANAGERS
from tests.conftest import make_user
from tests.instances.promotions.helpers import (
    APEX_META,
    INVOICE,
    TAX,
    commit_to,
    head,
    promote,
    promote_invoice,
    run,
    start,
)

pytestmark = pytest.mark.django_db

CLASSES = "force-app/main/default/classes/"
SHIPPING = CLASSES + "Shipping.cls"
META = APEX_META
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "oracle",
    "GIT_AUTHOR_EMAIL": "oracle@example.com",
    "GIT_COMMITTER_NAME": "oracle",
    "GIT_COMMITTER_EMAIL": "oracle@example.com",
    "LC_ALL": "C",
    "PATH": os.environ.get("PATH", ""),
}


def git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=check
    )


def git_revert(bare: Path, at: str, merge: str, work: Path) -> subprocess.CompletedProcess[str]:
    """`git revert -m 1 merge` on a checkout of `at`, the oracle."""
    git(bare.parent, "clone", "-q", str(bare), str(work))
    git(work, "checkout", "-q", "--detach", at)
    return git(work, "revert", "-m", "1", "--no-edit", merge, check=False)


def tree_of(instance, commit: str) -> str:
    with storage.open_repo(instance.repository.local_path) as repo:
        return storage.hex_id(repo[storage.object_id(commit)].tree)


def read(instance, path: str) -> bytes | None:
    with storage.open_repo(instance.repository.local_path) as repo:
        return storage.read_blob(repo, storage.branch_head(repo, instance.branch), path)


@pytest.fixture
def invoice(git_pipeline, developer):
    """RM-1 in Dev Alice and Integration: it changes Invoice.cls and adds Tax.cls."""
    return promote_invoice(git_pipeline, developer)


@pytest.fixture
def shipping(git_pipeline, developer, invoice):
    """RM-2, promoted into Integration after RM-1: it touches another file."""
    feature = start(git_pipeline, "RM-2", "Shipping", developer, where="bob")
    commit_to(feature, {SHIPPING: b"public class Shipping {\n}\n", SHIPPING + "-meta.xml": META})
    promote([feature], git_pipeline["bob"], developer)
    return feature, promote([feature], git_pipeline["integration"], developer)


def build_on(feature, other) -> None:
    """Move a fresh feature branch onto another feature's head (work that builds on it)."""
    with storage.open_repo(feature.repository.local_path) as repo:
        old = storage.branch_head(repo, feature.branch)
        storage.update_branch(repo, feature.branch, storage.branch_head(repo, other.branch), old)


def roll_back(promotion: Promotion, user) -> Promotion:
    rollback = request_rollback(promotion, user, acknowledge=True, acknowledged=["Records"])
    assert rollback.direction == Direction.ROLLBACK and rollback.rollback_of == promotion
    return run(rollback)


def test_a_clean_rollback_is_git_revert_of_the_merge(
    git_pipeline, release_manager, invoice, shipping, tmp_path
):
    integration = git_pipeline["integration"]
    feature, promotion = invoice
    before = head(integration)
    rollback = roll_back(promotion, release_manager)
    assert rollback.status == PromotionStatus.SUCCEEDED, rollback.failure_reason
    assert rollback.target_head_before == before
    assert head(integration) == rollback.target_head_after != before

    oracle = git_revert(
        Path(integration.repository.local_path), before, promotion.target_head_after, tmp_path / "w"
    )
    assert oracle.returncode == 0, oracle.stderr
    git_tree = git(tmp_path / "w", "rev-parse", "HEAD^{tree}").stdout.strip()
    assert tree_of(integration, rollback.target_head_after) == git_tree

    # Only RM-1 went: its new class is gone, Invoice.cls is back, RM-2 stays.
    assert read(integration, TAX) is None
    assert read(integration, INVOICE) == b"public class Invoice {\n}\n"
    assert read(integration, SHIPPING) == b"public class Shipping {\n}\n"
    # One commit on the target, on top of where it was, like git revert's.
    with storage.open_repo(integration.repository.local_path) as repo:
        made = repo[storage.object_id(rollback.target_head_after)]
        assert [storage.hex_id(p) for p in made.parents] == [before]
        assert f"Roll back promotion #{promotion.pk} (RM-1)" in made.message.decode()

    assert not FeaturePresence.objects.filter(feature=feature, instance=integration).exists()
    assert FeaturePresence.objects.filter(feature=feature, instance=git_pipeline["alice"]).exists()
    messages = list(rollback.log.values_list("message", flat=True))
    assert any(f"Reverted the merges of promotion #{promotion.pk}" in m for m in messages)
    assert any("rolled back" in m and "RM-1 no longer in Integration" in m for m in messages)
    assert AuditEvent.for_object(promotion).filter(action="rolled back").exists()
    assert AuditEvent.for_object(promotion).filter(action="rollback requested").exists()
    # Subscribers hear of a rollback in its words, and of no back promotion it made possible.
    [spec] = events.promotion_specs(rollback)
    assert spec.title == (
        f"Rollback #{rollback.pk} succeeded: promotion #{promotion.pk} reverted, RM-1 no longer "
        "in Integration"
    )
    assert spec.data["rollback_of"] == promotion.pk


def test_the_rollback_of_a_two_feature_promotion_reverts_both_merges(
    git_pipeline, developer, release_manager, tmp_path
):
    integration = git_pipeline["integration"]
    a = start(git_pipeline, "RM-5", "A", developer)
    b = start(git_pipeline, "RM-6", "B", developer)
    commit_to(a, {TAX: b"public class Tax {\n}\n"})
    commit_to(b, {SHIPPING: b"public class Shipping {\n}\n"})
    promote([a, b], git_pipeline["alice"], developer)
    promotion = promote([a, b], integration, developer)
    first_parent_of_range = promotion.target_head_before
    rollback = roll_back(promotion, release_manager)
    assert rollback.status == PromotionStatus.SUCCEEDED, rollback.failure_reason
    # Reverting both merges gives back exactly the tree the promotion started from.
    assert tree_of(integration, rollback.target_head_after) == tree_of(
        integration, first_parent_of_range
    )
    # And git agrees, reverting the two merges newest first.
    work = tmp_path / "w"
    oracle = git_revert(
        Path(integration.repository.local_path),
        promotion.target_head_after,
        promotion.target_head_after,
        work,
    )
    assert oracle.returncode == 0, oracle.stderr
    assert git(work, "revert", "-m", "1", "--no-edit", "HEAD~1^1").returncode == 0
    assert tree_of(integration, rollback.target_head_after) == (
        git(work, "rev-parse", "HEAD^{tree}").stdout.strip()
    )


def _later_change(git_pipeline, developer, invoice) -> Promotion:
    """RM-3, built on RM-1 and changing the line RM-1 added, promoted into Integration."""
    later = start(git_pipeline, "RM-3", "Invoice rounding", developer, where="bob")
    build_on(later, invoice[0])
    commit_to(later, {INVOICE: b"public class Invoice {\n  Decimal total; // rounded\n}\n"})
    promote([later], git_pipeline["bob"], developer)
    return promote([later], git_pipeline["integration"], developer)


def test_a_conflicting_rollback_is_conflicted_as_git_revert_and_names_the_later_promotion(
    git_pipeline, developer, release_manager, invoice, tmp_path
):
    integration = git_pipeline["integration"]
    _, promotion = invoice
    third = _later_change(git_pipeline, developer, invoice)
    before = head(integration)

    rollback = roll_back(promotion, release_manager)
    assert rollback.status == PromotionStatus.CONFLICTED
    assert head(integration) == before  # the target did not move
    assert [c["path"] for c in rollback.conflicts] == [INVOICE]
    assert f"Rolling back #{promotion.pk}" in rollback.failure_reason
    assert f"changed since by #{third.pk} (RM-3)" in rollback.failure_reason

    work = tmp_path / "w"
    oracle = git_revert(
        Path(integration.repository.local_path), before, promotion.target_head_after, work
    )
    assert oracle.returncode != 0
    unmerged = git(work, "diff", "--name-only", "--diff-filter=U").stdout.split()
    assert unmerged == [INVOICE]
    # The conflicted file is git's, markers and all; only the "ours" label names the branch.
    git_text = (work / INVOICE).read_text().replace("<<<<<<< HEAD", "<<<<<<< integration")
    assert rollback.conflicts[0]["result"] == git_text
    assert "// rounded" in rollback.conflicts[0]["ours"]
    assert rollback.conflicts[0]["theirs"] == "public class Invoice {\n}\n"

    # It holds the promotion: a second rollback would revert it twice.
    with pytest.raises(PromotionError, match=f"#{rollback.pk}, that conflicted: resolve, retry or"):
        request_rollback(promotion, release_manager, acknowledge=True)

    # Resolved like any conflict, it runs through.
    retry(rollback, release_manager, {INVOICE: "public class Invoice {\n  // none\n}\n"})
    rollback = run(Promotion.objects.get(pk=rollback.pk))
    assert rollback.status == PromotionStatus.SUCCEEDED, rollback.failure_reason
    assert read(integration, INVOICE) == b"public class Invoice {\n  // none\n}\n"
    assert read(integration, TAX) is None


def test_a_conflicted_rollback_cancelled_lets_go_of_its_promotion(
    git_pipeline, developer, release_manager, invoice
):
    integration = git_pipeline["integration"]
    _, promotion = invoice
    third = _later_change(git_pipeline, developer, invoice)
    rollback = roll_back(promotion, release_manager)
    assert rollback.status == PromotionStatus.CONFLICTED
    before = head(integration)
    with pytest.raises(PromotionError, match="that conflicted: resolve, retry or cancel"):
        request_rollback(promotion, release_manager, acknowledge=True)

    cancel(rollback, release_manager)
    assert Promotion.objects.get(pk=rollback.pk).status == PromotionStatus.CANCELLED
    assert head(integration) == before
    assert read(integration, TAX) is not None  # RM-1 is still there
    # Nothing holds the promotion now: a second rollback may be asked for, and conflicts
    # the same way (RM-3 still changes that line); resolved, it runs through.
    second = roll_back(promotion, release_manager)
    assert second.pk != rollback.pk
    assert second.status == PromotionStatus.CONFLICTED
    assert f"changed since by #{third.pk} (RM-3)" in second.failure_reason
    retry(second, release_manager, {INVOICE: "public class Invoice {\n}\n"})
    second = run(Promotion.objects.get(pk=second.pk))
    assert second.status == PromotionStatus.SUCCEEDED, second.failure_reason
    assert read(integration, TAX) is None
    with pytest.raises(PromotionError, match=f"rolled back by #{second.pk}"):
        request_rollback(promotion, release_manager, acknowledge=True)


def test_a_rolled_back_feature_promoted_again_comes_back(
    git_pipeline, developer, release_manager, invoice, shipping
):
    integration = git_pipeline["integration"]
    feature, promotion = invoice
    rollback = roll_back(promotion, release_manager)
    assert read(integration, TAX) is None

    # The same commits again: git alone would merge nothing (they are ancestors already).
    again = promote([feature], integration, developer)
    assert read(integration, TAX) == b"public class Tax {\n}\n"
    assert read(integration, INVOICE) == b"public class Invoice {\n  Decimal total;\n}\n"
    assert read(integration, SHIPPING) == b"public class Shipping {\n}\n"
    presence = FeaturePresence.objects.get(feature=feature, instance=integration)
    assert presence.promotion == again
    messages = list(again.log.values_list("message", flat=True))
    assert any(f"Reverted rollback #{rollback.pk}: RM-1 came back" in m for m in messages)

    # Rolled back a second time and brought back with newer work: all of it arrives.
    second = roll_back(again, release_manager)
    assert second.status == PromotionStatus.SUCCEEDED, second.failure_reason
    assert read(integration, TAX) is None
    commit_to(feature, {TAX: b"public class Tax {\n  Decimal rate;\n}\n"})
    promote([feature], git_pipeline["alice"], developer)
    promote([feature], integration, developer)
    assert read(integration, TAX) == b"public class Tax {\n  Decimal rate;\n}\n"
    assert read(integration, INVOICE) == b"public class Invoice {\n  Decimal total;\n}\n"


def test_the_dry_run_brings_a_rolled_back_feature_back_first(
    git_pipeline, developer, release_manager, invoice
):
    """The dry run reverts the rollback before it merges, as the merge step does: newer work
    on a rolled-back file is clean, and a change since to the lines the revert brings back is
    the conflict the promotion meets."""
    integration = git_pipeline["integration"]
    feature, promotion = invoice
    rollback = roll_back(promotion, release_manager)
    commit_to(feature, {TAX: b"public class Tax {\n  Decimal rate;\n}\n"})  # Tax is gone there
    promote([feature], git_pipeline["alice"], developer)
    assert dry_run([feature], integration, route_to([feature], integration)).conflicts == {}

    rival = start(git_pipeline, "RM-4", "Invoice count", developer, where="bob")
    commit_to(rival, {INVOICE: b"public class Invoice {\n  Integer count;\n}\n"})
    promote([rival], git_pipeline["bob"], developer)
    promote([rival], integration, developer)
    before = head(integration)
    found = dry_run([feature], integration, route_to([feature], integration)).conflicts
    assert found == {f"RM-1 (rolled back by #{rollback.pk})": [INVOICE]}
    assert head(integration) == before  # objects only

    again = run(request_promotion(features=[feature], target=integration, user=developer))
    assert again.status == PromotionStatus.CONFLICTED
    assert [c["path"] for c in again.conflicts] == [INVOICE]
    assert f"rolled back by #{rollback.pk}" in again.failure_reason


def test_features_rolled_back_together_come_back_together(git_pipeline, developer, release_manager):
    integration = git_pipeline["integration"]
    a = start(git_pipeline, "RM-5", "A", developer)
    b = start(git_pipeline, "RM-6", "B", developer)
    commit_to(a, {TAX: b"public class Tax {\n}\n"})
    commit_to(b, {SHIPPING: b"public class Shipping {\n}\n"})
    promote([a, b], git_pipeline["alice"], developer)
    rollback = roll_back(promote([a, b], integration, developer), release_manager)
    before = Promotion.objects.count()
    with pytest.raises(PromotionError, match=f"Rollback #{rollback.pk} took RM-6"):
        request_promotion(features=[a], target=integration, user=developer)
    assert Promotion.objects.count() == before
    promote([a, b], integration, developer)
    assert read(integration, TAX) and read(integration, SHIPPING)


def test_the_rollback_package_deletes_what_the_promotion_added(
    git_pipeline, release_manager, invoice
):
    integration = git_pipeline["integration"]
    rollback = roll_back(invoice[1], release_manager)
    with storage.open_repo(integration.repository.local_path) as repo:
        package = build_package_files(repo, rollback.target_head_before, rollback.target_head_after)
    assert package.delta.package == {"ApexClass": {"Invoice"}}
    assert package.delta.destructive == {"ApexClass": {"Tax"}}
    assert package.files["classes/Invoice.cls"] == b"public class Invoice {\n}\n"
    assert "destructiveChanges.xml" in package.files


@pytest.mark.skipif(not os.environ.get("SFDX_REFS"), reason="SFDX_REFS is not set")
def test_the_rollback_package_agrees_with_sfdx_git_delta(
    git_pipeline, release_manager, invoice, tmp_path
):
    """sfdx-git-delta (and SDR) on the same commit pair, as benchmarks/package_agreement.py
    compares them."""
    import importlib.util

    refs = Path(os.environ["SFDX_REFS"])
    if not (refs / "node_modules" / "sfdx-git-delta").exists():
        pytest.skip(f"sfdx-git-delta is not installed under {refs}")
    node = os.environ.get("NODE") or shutil.which("node") or "node"
    bench = Path(__file__).resolve().parents[3] / "benchmarks" / "package_agreement.py"
    spec = importlib.util.spec_from_file_location("package_agreement", bench)
    assert spec and spec.loader
    agreement = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("package_agreement", agreement)  # its dataclasses look it up
    spec.loader.exec_module(agreement)

    integration = git_pipeline["integration"]
    rollback = roll_back(invoice[1], release_manager)
    work = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", str(integration.repository.local_path), str(work))
    report = agreement.Report()
    pair = (rollback.target_head_before, rollback.target_head_after, "rollback")
    agreement.compare_pair(refs, node, work, pair, report, False)
    assert not report.reference_errors and not report.our_errors
    assert report.pairs == 1 and not report.differences, report.differences
    tally = report.destructive_by_type["ApexClass"]
    assert (tally.agree, tally.total) == (1, 1)  # sgd deletes Tax too


def test_a_rollback_waits_for_a_freeze_like_any_promotion(git_pipeline, release_manager, invoice):
    integration = git_pipeline["integration"]
    windows.freeze(integration, release_manager, "Quarter close", None)
    rollback = request_rollback(invoice[1], release_manager, acknowledge=True)
    before = head(integration)
    assert engine.run_promotion(rollback.pk, "test-worker") == "not runnable now"
    assert "Quarter close" in waiting_reason(rollback)
    assert head(integration) == before
    windows.lift(Freeze.objects.get(instance=integration), release_manager)
    assert run(rollback).status == PromotionStatus.SUCCEEDED


def test_a_rollback_needs_the_targets_approvals_of_exactly_that_revert(
    git_pipeline, release_manager, invoice
):
    integration = git_pipeline["integration"]
    integration.requires_approval = True
    integration.save(update_fields=["requires_approval"])
    rollback = request_rollback(invoice[1], release_manager, acknowledge=True)
    assert rollback.status == PromotionStatus.AWAITING_APPROVAL
    subject = subject_of(rollback)
    assert subject["rollback_of"] == {
        "promotion": invoice[1].pk,
        "reverts": [invoice[1].target_head_before, invoice[1].target_head_after],
    }
    with pytest.raises(PromotionError, match="someone other than its requester"):
        approve(rollback, release_manager)
    approve(rollback, make_user("ray-rm", RELEASE_MANAGERS))
    rollback.refresh_from_db()
    assert rollback.status == PromotionStatus.QUEUED
    assert run(rollback).status == PromotionStatus.SUCCEEDED
