"""The DORA numbers and the queue, from promotion rows placed at known times."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from branching.git import storage
from instances.metrics.dora import Period, hours, report
from instances.models import (
    Approval,
    Decision,
    Deployment,
    DeploymentKind,
    DeploymentStatus,
    Direction,
    Instance,
    OrgConnection,
    Promotion,
    PromotionStatus,
)
from tests.conftest import make_instance
from tests.instances.promotions.helpers import make_feature, make_promotion, promote, start

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
PERIOD = Period(NOW - timedelta(days=30), NOW)


def at(days_ago: float, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days_ago) + timedelta(hours=hours)


def finished(promotion: Promotion, when: datetime, *, started: datetime | None = None) -> None:
    Promotion.objects.filter(pk=promotion.pk).update(
        requested_at=(started or when) - timedelta(hours=1),
        started_at=started or when,
        finished_at=when,
    )


def refused_deployment(promotion: Promotion, instance: Instance) -> None:
    org = OrgConnection.objects.create(instance=instance, username="ci@example.com")
    Deployment.objects.create(
        instance=instance,
        org_connection=org,
        promotion=promotion,
        kind=DeploymentKind.DEPLOY,
        test_level="NoTestRun",
        to_commit="c" * 40,
        status=DeploymentStatus.FAILED,
    )


def by_name(result):
    return {m.instance.name: m for m in result.instances}


def test_it_counts_deployments_failures_and_the_time_to_restore(pipeline, developer):
    prod = pipeline["prod"]
    feature = make_feature(pipeline["repo"], "RM-1", developer)
    for days in (20, 10, 3):
        ok = make_promotion(
            prod, [feature], developer, source=pipeline["uat"], status=PromotionStatus.SUCCEEDED
        )
        finished(ok, at(days))
    bad = make_promotion(
        prod, [feature], developer, source=pipeline["uat"], status=PromotionStatus.FAILED
    )
    refused_deployment(bad, prod)
    finished(bad, at(10, hours=-6))  # six hours before the success 10 days ago
    # A failure that was not the org's (a conflict) is no change failure.
    conflicted = make_promotion(
        prod, [feature], developer, source=pipeline["uat"], status=PromotionStatus.CONFLICTED
    )
    finished(conflicted, at(5))
    # Outside the period: not counted.
    old = make_promotion(
        prod, [feature], developer, source=pipeline["uat"], status=PromotionStatus.SUCCEEDED
    )
    finished(old, at(45))

    metrics = by_name(report(Instance.objects.all(), PERIOD))["Production"]

    assert metrics.deployments == 3
    assert metrics.deployment_failures == 1
    assert metrics.change_failure_rate == pytest.approx(1 / 4)
    assert metrics.time_to_restore == timedelta(hours=6)
    assert metrics.restores == 1


def test_a_refused_deployment_given_up_stays_a_change_failure_where_it_failed(pipeline, developer):
    from instances.promotions.rules import cancel

    prod = pipeline["prod"]
    feature = make_feature(pipeline["repo"], "RM-1", developer)
    ok = make_promotion(
        prod, [feature], developer, source=pipeline["uat"], status=PromotionStatus.SUCCEEDED
    )
    finished(ok, at(20))
    bad = make_promotion(
        prod, [feature], developer, source=pipeline["uat"], status=PromotionStatus.FAILED
    )
    refused_deployment(bad, prod)
    finished(bad, at(10))
    cancel(Promotion.objects.get(pk=bad.pk), developer)  # given up, not retried
    # Cancelled while it waited: it never reached the org, so it is no failure at all.
    waited = make_promotion(prod, [feature], developer, source=pipeline["uat"])
    cancel(waited, developer)

    bad.refresh_from_db()
    assert bad.status == PromotionStatus.CANCELLED and bad.finished_at == at(10)
    metrics = by_name(report(Instance.objects.all(), PERIOD))["Production"]
    assert metrics.deployments == 1
    assert metrics.deployment_failures == 1
    assert metrics.change_failure_rate == pytest.approx(1 / 2)
    then = by_name(report(Instance.objects.all(), Period(at(15), at(5))))["Production"]
    assert then.deployment_failures == 1  # on the day it failed, not the day it was given up


def rollback(of: Promotion, status: str, when: datetime) -> Promotion:
    """A rollback of `of` into its target, as the rollback engine records one."""
    undo = make_promotion(
        of.target,
        list(of.features.all()),
        of.requested_by,
        status=status,
        direction=Direction.ROLLBACK,
        rollback_of=of,
    )
    finished(undo, when)
    return undo


def test_a_rolled_back_deployment_is_a_change_failure_restored_by_its_rollback(pipeline, developer):
    prod, uat = pipeline["prod"], pipeline["uat"]
    rm1, rm2 = (make_feature(pipeline["repo"], f"RM-{n}", developer) for n in (1, 2))
    kept = make_promotion(prod, [rm1], developer, source=uat, status=PromotionStatus.SUCCEEDED)
    finished(kept, at(12))
    reverted = make_promotion(prod, [rm2], developer, source=uat, status=PromotionStatus.SUCCEEDED)
    finished(reverted, at(8))
    rollback(reverted, PromotionStatus.FAILED, at(8, hours=1))  # a failed attempt restores nothing
    rollback(reverted, PromotionStatus.SUCCEEDED, at(8, hours=3))
    bad = make_promotion(prod, [rm1], developer, source=uat, status=PromotionStatus.FAILED)
    refused_deployment(bad, prod)
    finished(bad, at(4))
    finished(
        make_promotion(prod, [rm1], developer, source=uat, status=PromotionStatus.SUCCEEDED),
        at(4, hours=1),
    )

    result = report(Instance.objects.all(), PERIOD)
    metrics = by_name(result)["Production"]

    assert metrics.deployments == 3  # the rollback is no deployment of its own
    assert (metrics.deployment_failures, metrics.rolled_back) == (1, 1)
    assert metrics.change_failure_rate == pytest.approx(2 / 4)
    # Three hours from the reverted deployment to its rollback, one from the refusal.
    assert metrics.time_to_restore == timedelta(hours=2)
    assert metrics.restores == 2
    assert sum(production for _, production, _ in result.weekly) == 3
    assert result.total(result.production).rolled_back == 1


def test_a_rollback_is_no_arrival_for_the_lead_time_or_the_stage_wait(pipeline, developer):
    feature = make_feature(pipeline["repo"], "RM-1", developer, first_commit_at=at(10))
    qa, ok = pipeline["qa"], PromotionStatus.SUCCEEDED
    into_qa = make_promotion(qa, [feature], developer, source=pipeline["integration"], status=ok)
    finished(into_qa, at(6))
    rollback(into_qa, PromotionStatus.SUCCEEDED, at(5))

    qa = by_name(report(Instance.objects.all(), PERIOD))["QA"]

    assert (qa.lead_time, qa.lead_time_features) == (timedelta(days=4), 1)
    assert qa.rolled_back == 1 and qa.change_failure_rate == 1


def test_it_measures_lead_time_from_the_first_commit_and_the_wait_at_each_stage(
    pipeline, developer
):
    early = make_feature(pipeline["repo"], "RM-1", developer, first_commit_at=at(12))
    late = make_feature(pipeline["repo"], "RM-2", developer, first_commit_at=at(6))
    untimed = make_feature(pipeline["repo"], "RM-3", developer)
    into_qa = make_promotion(
        pipeline["qa"],
        [early, late, untimed],
        developer,
        source=pipeline["integration"],
        status=PromotionStatus.SUCCEEDED,
    )
    finished(into_qa, at(4))
    into_uat = make_promotion(
        pipeline["uat"],
        [early, late],
        developer,
        source=pipeline["qa"],
        status=PromotionStatus.SUCCEEDED,
    )
    finished(into_uat, at(2))
    into_prod = make_promotion(
        pipeline["prod"],
        [early],
        developer,
        source=pipeline["uat"],
        status=PromotionStatus.SUCCEEDED,
    )
    finished(into_prod, at(1))

    rows = by_name(report(Instance.objects.all(), PERIOD))

    assert rows["QA"].lead_time == timedelta(days=(8 + 2) / 2)  # RM-3 has no first commit
    assert rows["QA"].lead_time_features == 2
    assert rows["Production"].lead_time == timedelta(days=11)
    # Both left QA two days after they came; one of two has left UAT, after a day.
    assert rows["QA"].stage_wait == timedelta(days=2)
    assert rows["QA"].stage_wait_features == 2
    assert rows["UAT"].stage_wait == timedelta(days=1)
    assert rows["UAT"].stage_wait_features == 1
    assert rows["Production"].stage_wait is None


def test_it_splits_the_queue_wait_into_approval_and_queue(pipeline, developer, release_manager):
    uat = pipeline["uat"]
    feature = make_feature(pipeline["repo"], "RM-1", developer)
    promotion = make_promotion(
        uat, [feature], developer, source=pipeline["qa"], status=PromotionStatus.SUCCEEDED
    )
    Promotion.objects.filter(pk=promotion.pk).update(
        requested_at=at(3), started_at=at(3, hours=5), finished_at=at(3, hours=6)
    )
    approval = Approval.objects.create(
        promotion=promotion, user=release_manager, decision=Decision.APPROVED
    )
    Approval.objects.filter(pk=approval.pk).update(at=at(3, hours=4))
    make_promotion(
        uat, [feature], developer, source=pipeline["qa"], status=PromotionStatus.AWAITING_APPROVAL
    )
    make_promotion(uat, [feature], developer, source=pipeline["qa"])

    metrics = by_name(report(Instance.objects.all(), PERIOD))["UAT"]

    assert metrics.approval_wait == timedelta(hours=4)
    assert metrics.queue_wait == timedelta(hours=1)
    assert metrics.longest_wait == timedelta(hours=5)
    assert metrics.started == 1
    assert (metrics.awaiting_approval_now, metrics.queued_now) == (1, 1)


def test_it_counts_deployments_per_week(pipeline, developer):
    feature = make_feature(pipeline["repo"], "RM-1", developer)
    for target, days in (("prod", 1), ("prod", 2), ("qa", 2), ("qa", 15)):
        promotion = make_promotion(
            pipeline[target],
            [feature],
            developer,
            source=pipeline["integration"] if target == "qa" else pipeline["uat"],
            status=PromotionStatus.SUCCEEDED,
        )
        finished(promotion, at(days))

    result = report(Instance.objects.all(), PERIOD)

    assert sum(every for _, _, every in result.weekly) == 4
    assert sum(production for _, production, _ in result.weekly) == 2
    assert [week for week, _, _ in result.weekly] == sorted(w for w, _, _ in result.weekly)
    assert result.deployments_per_week(result.production) == pytest.approx(2 / (30 / 7))


def test_it_reads_a_fixed_number_of_queries_whatever_the_size(pipeline, developer):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            report(Instance.objects.all(), PERIOD)
        return len(ctx.captured_queries)

    small = queries()
    for n in range(30):
        instance = make_instance(pipeline["repo"], parent=pipeline["integration"])
        feature = make_feature(pipeline["repo"], f"RM-{100 + n}", developer, first_commit_at=at(9))
        promotion = make_promotion(instance, [feature], developer, status=PromotionStatus.SUCCEEDED)
        finished(promotion, at(n % 20))
    assert queries() == small == 8


def test_it_times_a_feature_from_its_first_commit_through_the_real_engine(git_pipeline, developer):
    feature = start(git_pipeline, "RM-7", "Invoice totals", developer)
    first = datetime.now(UTC) - timedelta(days=3)
    with storage.open_repo(feature.repository.local_path) as repo:
        old = storage.branch_head(repo, feature.branch)
        one = storage.commit_changes(
            repo,
            parent=old,
            changes={"force-app/main/default/classes/A.cls": b"a\n"},
            message="one",
            author="Dev <dev@example.com>",
            when=first,
        )
        two = storage.commit_changes(
            repo,
            parent=one,
            changes={"force-app/main/default/classes/B.cls": b"b\n"},
            message="two",
            author="Dev <dev@example.com>",
            when=first + timedelta(days=1),
        )
        storage.update_branch(repo, feature.branch, two, old)

    promote([feature], git_pipeline["alice"], developer)
    feature.refresh_from_db()

    assert feature.first_commit_at == first.replace(microsecond=0)
    metrics = by_name(report(Instance.objects.all(), Period.last(7)))["Dev Alice"]
    assert metrics.deployments == 1
    assert metrics.lead_time_features == 1
    assert timedelta(days=3) <= metrics.lead_time < timedelta(days=3, minutes=5)


def test_durations_read_in_hours_one_way_for_the_csv_the_api_and_the_charts():
    assert hours(None) is None and hours(None, 1) is None
    assert hours(timedelta(minutes=90)) == 1.5
    assert hours(timedelta(minutes=100)) == pytest.approx(5 / 3)  # the CSV and the API
    assert hours(timedelta(minutes=100), 1) == 1.7  # the charts' one place
    assert hours(timedelta(days=2, seconds=18), 2) == 48.01
