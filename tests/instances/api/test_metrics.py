"""Delivery metrics in the API: the page's and the CSV's numbers, per instance and per
repository, behind the page's permission and grant checks."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from instances.models import (
    Capability,
    Deployment,
    DeploymentKind,
    DeploymentStatus,
    InstanceGrant,
    OrgConnection,
    PromotionStatus,
)
from releasemgr.roles import RELEASE_MANAGERS
from tests.instances.promotions.helpers import make_feature, make_promotion

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


@pytest.fixture
def history(pipeline, developer):
    """Into production: two succeeded (lead times 3 and 5 days), one refused by the org then
    restored a day later; into UAT one succeeded; a promotion waits for approval into UAT."""
    p = pipeline
    features = []
    for n, first_commit in enumerate((4, 6, 9)):
        feature = make_feature(p["repo"], f"RM-{n + 1}", developer)
        feature.first_commit_at = days_ago(first_commit)
        feature.save(update_fields=["first_commit_at"])
        features.append(feature)
    rm1, rm2, rm3 = features
    prod, uat, qa = p["prod"], p["uat"], p["qa"]
    ok = PromotionStatus.SUCCEEDED
    for feature in (rm1, rm2):
        times = {"requested_at": days_ago(1.1), "started_at": days_ago(1.05)}
        make_promotion(
            prod, [feature], developer, source=uat, status=ok, finished_at=days_ago(1), **times
        )
    refused = make_promotion(
        prod, [rm3], developer, source=uat, status=PromotionStatus.FAILED, finished_at=days_ago(2)
    )
    Deployment.objects.create(
        instance=prod,
        org_connection=OrgConnection.objects.create(instance=prod, username="ci@acme.example"),
        promotion=refused,
        kind=DeploymentKind.DEPLOY,
        test_level="RunLocalTests",
        to_commit="c" * 40,
        status=DeploymentStatus.FAILED,
    )
    make_promotion(uat, [rm3], developer, source=qa, status=ok, finished_at=days_ago(3))
    make_promotion(uat, [rm3], developer, source=qa, status=PromotionStatus.AWAITING_APPROVAL)
    return p


def rows_of_csv(client, query: str) -> dict[str, dict[str, str]]:
    body = client.get(f"/metrics/metrics.csv?{query}").content.decode()
    return {row["instance"]: row for row in csv.DictReader(io.StringIO(body))}


def as_csv(value) -> str:
    """An API number as the CSV writes it."""
    if value is None:
        return ""
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def test_it_gives_the_numbers_of_the_page_and_its_csv(api, token_for, client_for, history):
    answer = api("GET", "/metrics?days=30", token_for("developer", ["read"]))
    assert answer.status == 200, answer.body[:300]
    data = answer.data
    assert data["period"]["days"] == 30
    csv_rows = rows_of_csv(client_for("developer"), "days=30")
    assert {row["instance"]["name"] for row in data["instances"]} == set(csv_rows)
    for row in data["instances"]:
        written = csv_rows[row["instance"]["name"]]
        for name, value in row.items():
            if name in ("instance", "repository", "purpose"):
                continue
            if name == "change_failure_rate":
                assert written[name] == ("" if value is None else f"{value:.4f}")
            else:
                assert written[name] == as_csv(value), name
    prod = next(r for r in data["instances"] if r["instance"]["id"] == history["prod"].pk)
    assert prod["deployments"] == 2 and prod["deployment_failures"] == 1
    assert prod["change_failure_rate"] == pytest.approx(1 / 3)
    assert prod["lead_time_hours"] == pytest.approx(24 * 4, abs=0.01)  # (3 d + 5 d) / 2
    assert prod["time_to_restore_hours"] == pytest.approx(24, abs=0.01)
    assert data["production"]["deployments"] == 2
    assert data["total"]["deployments"] == 3
    assert data["total"]["awaiting_approval_now"] == 1
    assert sum(week["all"] for week in data["weekly"]) == 3
    assert sum(week["production"] for week in data["weekly"]) == 2


def test_it_gives_one_instance_and_one_repository(api, token_for, history):
    token = token_for("developer", ["read"])
    one = api("GET", f"/metrics/instances/{history['uat'].pk}?days=7", token).data
    assert [row["instance"]["name"] for row in one["instances"]] == ["UAT"]
    assert one["total"]["deployments"] == 1 and one["production"] is None
    assert one["period"]["days"] == 7
    repository = api("GET", f"/metrics/repositories/{history['repo'].pk}", token).data
    assert len(repository["instances"]) == 7  # the whole hierarchy
    assert {row["repository"]["id"] for row in repository["instances"]} == {history["repo"].pk}
    assert repository["total"]["deployments"] == 3


def test_a_grant_hides_an_instance_from_the_numbers(api, token_for, history):
    InstanceGrant.objects.create(
        instance=history["prod"],
        capability=Capability.VIEW,
        group=Group.objects.get(name=RELEASE_MANAGERS),
    )
    developer = token_for("developer", ["read"])
    prod = history["prod"].pk
    hidden = api("GET", f"/metrics/instances/{prod}", developer)
    assert hidden.status == 404
    assert api("GET", f"/metrics?instance={prod}", developer).status == 400  # not a choice
    for path in ("/metrics", f"/metrics/repositories/{history['repo'].pk}"):
        data = api("GET", path, developer).data
        assert prod not in {row["instance"]["id"] for row in data["instances"]}
        assert data["total"]["deployments"] == 1  # UAT's alone
        assert data["production"] is None
    manager = token_for("release_manager", ["read"])
    assert api("GET", f"/metrics/instances/{prod}", manager).data["total"]["deployments"] == 2


@pytest.mark.parametrize(
    "path", ["/metrics", "/metrics/instances/{prod}", "/metrics/repositories/{repo}"]
)
def test_it_answers_each_persona_as_the_page_does(api, token_for, history, path):
    path = path.format(prod=history["prod"].pk, repo=history["repo"].pk)
    for persona, status in (("developer", 200), ("release_manager", 200), ("admin", 200)):
        assert api("GET", path, token_for(persona, ["read"])).status == status
    refused = api("GET", path, token_for("outsider", ["read"]))
    assert refused.status == 403 and "no role" in refused.problem["detail"]
    assert api("GET", path).status == 401


@pytest.mark.parametrize("query", ["days=3", "days=abc", "repository=999999", "instance=-1"])
def test_it_refuses_a_bad_filter_with_the_pages_message(api, token_for, history, query):
    answer = api("GET", f"/metrics?{query}", token_for("developer", ["read"]))
    assert answer.status in (400, 422), answer.body[:300]
    assert answer.problem["detail"]


def test_it_answers_404_for_an_unknown_instance_or_repository(api, token_for, history):
    token = token_for("developer", ["read"])
    assert api("GET", "/metrics/instances/999999", token).status == 404
    assert api("GET", "/metrics/repositories/999999", token).status == 404
