"""The promotion engine against real bare repositories: docs/design.md, invariants 1–4 and 6."""

from datetime import timedelta

import pytest
from django.utils import timezone

from branching.features import FeatureError, start_feature
from branching.git import storage
from instances.models import FeaturePresence, Promotion, PromotionStatus, Step
from instances.promotions import engine, running, steps
from instances.promotions.errors import PromotionError
from instances.promotions.queue import waiting_reason
from instances.promotions.requests import dry_run
from instances.promotions.routing import route_to
from instances.promotions.rules import approve, cancel, reject, request_promotion, retry
from tests.conftest import make_user
from tests.instances.promotions.helpers import commit_to, head

pytestmark = pytest.mark.django_db

INVOICE = "force-app/main/default/classes/Invoice.cls"


def contains(instance, commit: str) -> bool:
    with storage.open_repo(instance.repository.local_path) as repo:
        return storage.is_ancestor(repo, commit, storage.branch_head(repo, instance.branch))


def branches(repository) -> list[str]:
    with storage.open_repo(repository.local_path) as repo:
        return storage.list_branches(repo)


def promote(features, target, user):
    promotion = request_promotion(features=features, target=target, user=user)
    return run(promotion)


def run(promotion):
    engine.run_promotion(promotion.pk, "test-worker")
    promotion.refresh_from_db()
    return promotion


@pytest.fixture
def feature_a(git_pipeline, developer):
    feature = start_feature(
        git_pipeline["repo"],
        key="RM-1",
        title="Invoice totals",
        owner=developer,
        started_from_id=git_pipeline["alice"].pk,
    )
    commit_to(feature, {INVOICE: b"public class Invoice {\n  Decimal total;\n}\n"})
    return feature


def test_it_cuts_the_feature_branch_from_the_main_branch(git_pipeline, developer):
    feature = start_feature(
        git_pipeline["repo"],
        key="RM-7",
        title="Tax: EU & UK!",
        owner=developer,
        started_from_id=git_pipeline["bob"].pk,
    )
    assert feature.branch == "feature/RM-7-tax-eu-uk"
    assert feature.base_commit == head(git_pipeline["prod"])
    assert head(git_pipeline["prod"]) == feature.base_commit
    with pytest.raises(FeatureError, match="already uses this branch"):
        start_feature(
            git_pipeline["repo"],
            key="RM-8",
            title="x",
            owner=developer,
            branch="feature/RM-7-tax-eu-uk",
        )
    with pytest.raises(FeatureError):
        start_feature(git_pipeline["repo"], key="not a key", title="x", owner=developer)


def test_it_cuts_a_long_term_feature_from_the_long_term_branch(git_pipeline, developer):
    from tests.conftest import make_repository

    long_term = make_repository(
        name="Q1", storage="acme", main_branch="release/2027-q1", is_long_term=True
    )
    with storage.open_repo(long_term.local_path) as repo:
        main = storage.branch_head(repo, "main")
        q1 = storage.commit_changes(
            repo,
            parent=main,
            changes={"q1.txt": b"q1\n"},
            message="Q1 work",
            author="Dev <dev@example.com>",
        )
        storage.create_branch(repo, "release/2027-q1", q1)
    feature = start_feature(long_term, key="Q1-1", title="Big thing", owner=developer)
    assert feature.base_commit == storage.hex_id(q1)


def test_it_promotes_enter_forward_and_back(git_pipeline, feature_a, developer):
    p = git_pipeline
    feature_head = commit_to(feature_a, {"force-app/x.txt": b"x\n"})
    integration_before = head(p["integration"])

    entered = promote([feature_a], p["alice"], developer)
    assert entered.status == PromotionStatus.SUCCEEDED, entered.failure_reason
    assert entered.direction == "enter" and contains(p["alice"], feature_head)
    assert head(p["integration"]) == integration_before

    forward = promote([feature_a], p["integration"], developer)
    assert forward.status == PromotionStatus.SUCCEEDED and forward.direction == "forward"
    assert forward.source == p["alice"] and contains(p["integration"], feature_head)
    assert not contains(p["bob"], feature_head)

    back = promote([feature_a], p["bob"], developer)
    assert back.status == PromotionStatus.SUCCEEDED and back.direction == "back"
    assert back.source == p["integration"] and contains(p["bob"], feature_head)
    assert not contains(p["qa"], feature_head) and not contains(p["scratch"], feature_head)

    assert set(FeaturePresence.objects.values_list("instance__name", flat=True)) == {
        "Dev Alice",
        "Integration",
        "Dev Bob",
    }
    assert not [b for b in branches(p["repo"]) if b.startswith("releasemgr/")]
    log = list(forward.log.values_list("message", flat=True))
    assert any(m.startswith("Moved integration from") for m in log)
    moved = forward.log.get(message__startswith="Moved")
    assert moved.from_commit == integration_before and moved.to_commit == head(p["integration"])


def test_it_merges_feature_branches_never_environment_branches(git_pipeline, feature_a, developer):
    """Invariant 2: a feature that was not promoted never rides along."""
    p = git_pipeline
    promote([feature_a], p["alice"], developer)
    other = start_feature(
        p["repo"], key="RM-2", title="Unfinished", owner=developer, started_from_id=p["alice"].pk
    )
    other_commit = commit_to(other, {"force-app/other.txt": b"not ready\n"})
    assert promote([other], p["alice"], developer).status == PromotionStatus.SUCCEEDED
    promote([feature_a], p["integration"], developer)
    assert not contains(p["integration"], other_commit)
    with storage.open_repo(p["repo"].local_path) as repo:
        assert (
            storage.read_blob(repo, storage.branch_head(repo, "integration"), "force-app/other.txt")
            is None
        )


def test_it_promotes_what_the_source_holds_not_later_commits(git_pipeline, feature_a, developer):
    p = git_pipeline
    promote([feature_a], p["alice"], developer)
    later = commit_to(feature_a, {"force-app/later.txt": b"later\n"})
    promote([feature_a], p["integration"], developer)
    assert not contains(p["integration"], later)


def _rival(p, feature_a, developer):
    """RM-1 in Integration, and RM-3 in Dev Bob changing the same line of Invoice.cls."""
    promote([feature_a], p["alice"], developer)
    promote([feature_a], p["integration"], developer)
    rival = start_feature(
        p["repo"], key="RM-3", title="Rival", owner=developer, started_from_id=p["bob"].pk
    )
    rival_head = commit_to(rival, {INVOICE: b"public class Invoice {\n  Integer count;\n}\n"})
    assert promote([rival], p["bob"], developer).status == PromotionStatus.SUCCEEDED
    return rival, rival_head


def test_it_stops_on_a_conflict_and_leaves_the_target_unmoved(git_pipeline, feature_a, developer):
    p = git_pipeline
    rival, rival_head = _rival(p, feature_a, developer)
    before = head(p["integration"])
    route = route_to([rival], p["integration"])
    assert dry_run([rival], p["integration"], route).conflicts == {"RM-3": [INVOICE]}

    conflicted = promote([rival], p["integration"], developer)
    assert conflicted.status == PromotionStatus.CONFLICTED
    assert INVOICE in conflicted.failure_reason
    assert head(p["integration"]) == before
    [conflict] = conflicted.conflicts
    assert conflict["path"] == INVOICE
    assert "Decimal total" in conflict["ours"] and "Integer count" in conflict["theirs"]
    assert not [b for b in branches(p["repo"]) if b.startswith("releasemgr/")]

    resolved = "public class Invoice {\n  Decimal total;\n  Integer count;\n}\n"
    retry(conflicted, developer, {INVOICE: resolved})
    done = run(conflicted)
    assert done.status == PromotionStatus.SUCCEEDED, done.failure_reason
    with storage.open_repo(p["repo"].local_path) as repo:
        integration = storage.branch_head(repo, "integration")
        assert storage.read_blob(repo, integration, INVOICE) == resolved.encode()
        # The resolution lives in the merge commit, not in the feature branch.
        assert storage.branch_head(repo, rival.branch) == rival_head.encode()
        assert b"Decimal" not in storage.read_blob(repo, rival_head, INVOICE)


def test_it_waits_for_approval_by_someone_else(git_pipeline, feature_a, developer, release_manager):
    p = git_pipeline
    p["integration"].requires_approval = True
    p["integration"].save()
    promote([feature_a], p["alice"], developer)
    promotion = request_promotion(features=[feature_a], target=p["integration"], user=developer)
    assert promotion.status == PromotionStatus.AWAITING_APPROVAL
    assert "approval by a release manager other than dan-dev" in waiting_reason(promotion)
    assert run(promotion).status == PromotionStatus.AWAITING_APPROVAL
    with pytest.raises(PromotionError, match="Only release managers"):
        approve(promotion, developer)
    own = request_promotion(features=[feature_a], target=p["integration"], user=release_manager)
    with pytest.raises(PromotionError, match="someone other than its requester"):
        approve(own, release_manager)
    approve(promotion, release_manager)
    assert promotion.status == PromotionStatus.QUEUED
    assert run(promotion).status == PromotionStatus.SUCCEEDED
    with pytest.raises(PromotionError, match="Say why"):
        reject(own, make_user("other-rm", "Release managers"), " ")


def test_it_rejects_with_a_reason(git_pipeline, feature_a, developer, release_manager):
    p = git_pipeline
    p["alice"].requires_approval = True
    p["alice"].save()
    promotion = request_promotion(features=[feature_a], target=p["alice"], user=developer)
    reject(promotion, release_manager, "Not in this sprint")
    assert promotion.status == PromotionStatus.REJECTED
    assert "Not in this sprint" in promotion.failure_reason
    assert run(promotion).status == PromotionStatus.REJECTED


def test_it_runs_one_promotion_per_target_at_a_time(git_pipeline, feature_a, developer):
    p = git_pipeline
    second = start_feature(
        p["repo"], key="RM-4", title="Second", owner=developer, started_from_id=p["alice"].pk
    )
    first_promotion = request_promotion(features=[feature_a], target=p["alice"], user=developer)
    second_promotion = request_promotion(features=[second], target=p["alice"], user=developer)
    assert engine.claim(second_promotion.pk, "w2") is None  # behind the first
    assert engine.claim(first_promotion.pk, "w1") is not None
    assert engine.claim(first_promotion.pk, "w2") is None  # held
    assert engine.claim(second_promotion.pk, "w2") is None  # the target is busy
    assert f"behind promotion #{first_promotion.pk}" in waiting_reason(second_promotion)


def test_it_resumes_after_a_worker_dies_without_merging_twice(git_pipeline, feature_a, developer):
    p = git_pipeline
    promotion = request_promotion(features=[feature_a], target=p["alice"], user=developer)
    claimed = engine.claim(promotion.pk, "doomed")
    doomed = running.Run(claimed, "doomed")
    with storage.open_repo(p["repo"].local_path) as repo:
        steps.check(doomed, repo)
        steps.create_temp_branch(doomed, repo)
        steps.merge_features(doomed, repo)
    before = head(p["alice"])
    assert before == claimed.target_head_before  # the target has not moved
    # The worker dies here; its lease runs out.
    Promotion.objects.filter(pk=promotion.pk).update(lease_until=timezone.now() - timedelta(1))
    done = run(promotion)
    assert done.status == PromotionStatus.SUCCEEDED
    assert done.log.filter(message__startswith="Resumed by test-worker").exists()
    assert done.log.filter(message__startswith="Merged").count() == 1
    with storage.open_repo(p["repo"].local_path) as repo:
        new_head = storage.branch_head(repo, "dev/alice")
        commit = repo[new_head]
        assert commit.parents == [before.encode(), promotion.items.get().commit.encode()]


def test_it_starts_again_when_the_target_moves_underneath(git_pipeline, feature_a, developer):
    p = git_pipeline
    promotion = request_promotion(features=[feature_a], target=p["alice"], user=developer)
    claimed = engine.claim(promotion.pk, "w")
    runner = running.Run(claimed, "w")
    with storage.open_repo(p["repo"].local_path) as repo:
        steps.check(runner, repo)
        steps.create_temp_branch(runner, repo)
        steps.merge_features(runner, repo)
        # Someone else moves dev/alice (a push straight to the remote, say).
        old = storage.branch_head(repo, "dev/alice")
        hotfix = storage.commit_changes(
            repo,
            parent=old,
            changes={"hotfix.txt": b"fix\n"},
            message="hotfix",
            author="Ops <ops@example.com>",
        )
        storage.update_branch(repo, "dev/alice", hotfix, old)
    engine._execute(runner)
    assert contains(p["alice"], storage.hex_id(hotfix))
    assert contains(p["alice"], promotion.items.get().commit)
    assert promotion.log.filter(message__contains="Starting again from the fetch").exists()


def test_it_cancels_only_waiting_promotions(git_pipeline, feature_a, developer, outsider):
    promotion = request_promotion(
        features=[feature_a], target=git_pipeline["alice"], user=developer
    )
    with pytest.raises(PromotionError, match="requester or a release manager"):
        cancel(promotion, outsider)
    cancel(promotion, developer)
    assert promotion.status == PromotionStatus.CANCELLED
    assert promotion.finished_at is not None
    assert run(promotion).status == PromotionStatus.CANCELLED
    with pytest.raises(PromotionError, match="only waiting, conflicted or failed promotions"):
        cancel(promotion, developer)


def test_a_conflicted_promotion_is_given_up_and_its_features_asked_for_again(
    git_pipeline, feature_a, developer
):
    p = git_pipeline
    rival, _ = _rival(p, feature_a, developer)
    before = head(p["integration"])
    conflicted = promote([rival], p["integration"], developer)
    assert conflicted.status == PromotionStatus.CONFLICTED
    ended = conflicted.finished_at

    cancel(conflicted, developer)
    conflicted.refresh_from_db()
    assert conflicted.status == PromotionStatus.CANCELLED
    assert conflicted.finished_at == ended  # when it ran into the conflict
    assert conflicted.log.filter(
        message__contains="cancelled the promotion after it conflicted; it will not be retried"
    ).exists()
    assert head(p["integration"]) == before
    assert not [b for b in branches(p["repo"]) if b.startswith("releasemgr/")]
    with pytest.raises(PromotionError, match="cannot be retried now"):
        retry(conflicted, developer)
    assert run(conflicted).status == PromotionStatus.CANCELLED  # a worker leaves it be

    # The feature may be asked for again: it conflicts again, as nothing was resolved.
    again = promote([rival], p["integration"], developer)
    assert again.pk != conflicted.pk
    assert again.status == PromotionStatus.CONFLICTED


@pytest.mark.parametrize(
    ("target_key", "message"),
    [
        ("qa", "RM-1 is not in Integration or its parent UAT"),
        ("prod", "RM-1 is not in UAT"),
    ],
)
def test_it_refuses_targets_the_features_cannot_reach(
    git_pipeline, feature_a, developer, target_key, message
):
    with pytest.raises(PromotionError, match=message):
        request_promotion(features=[feature_a], target=git_pipeline[target_key], user=developer)
    assert not Promotion.objects.exists()


def test_it_refuses_a_feature_already_in_the_target(git_pipeline, feature_a, developer):
    p = git_pipeline
    promote([feature_a], p["alice"], developer)
    promote([feature_a], p["integration"], developer)
    with pytest.raises(PromotionError, match="RM-1 is already in Integration"):
        request_promotion(features=[feature_a], target=p["integration"], user=developer)


def test_it_records_every_step_in_order(git_pipeline, feature_a, developer):
    done = promote([feature_a], git_pipeline["alice"], developer)
    assert done.step == Step.RECORDED
    messages = list(done.log.values_list("message", flat=True))
    assert messages[0].startswith("dan-dev requested")
    assert messages[1].startswith("Started by test-worker")
    assert messages[-1] == "Succeeded: RM-1 now in Dev Alice."
    assert done.log.filter(actor=developer).exists()


def test_it_refuses_entering_again_with_nothing_new(git_pipeline, feature_a, developer):
    p = git_pipeline
    promote([feature_a], p["alice"], developer)
    with pytest.raises(PromotionError, match="already in Dev Alice with every commit"):
        request_promotion(features=[feature_a], target=p["alice"], user=developer)
    later = commit_to(feature_a, {"force-app/later.txt": b"later\n"})
    again = promote([feature_a], p["alice"], developer)
    assert again.status == PromotionStatus.SUCCEEDED and contains(p["alice"], later)
