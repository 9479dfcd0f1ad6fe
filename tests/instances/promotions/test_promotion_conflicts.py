"""A conflicted promotion: both sides on the page, a resolution per path, and the round trip."""

import html

import pytest
from django.urls import reverse

from branching.git import storage
from instances.models import PromotionStatus
from instances.promotions.rules import request_promotion
from tests.conftest import make_user
from tests.instances.promotions.helpers import INVOICE, commit_to, head, promote, run, start

pytestmark = pytest.mark.django_db

RESOLVED = "public class Invoice {\n  Decimal total;\n  Integer count;\n}\n"


@pytest.fixture
def conflicted(git_pipeline, developer):
    """RM-3 (from Dev Bob) into Integration, which already holds RM-1's change to the same lines."""
    p = git_pipeline
    first = start(p, "RM-1", "Invoice totals", developer)
    commit_to(first, {INVOICE: b"public class Invoice {\n  Decimal total;\n}\n"})
    promote([first], p["alice"], developer)
    promote([first], p["integration"], developer)
    rival = start(p, "RM-3", "Invoice count", developer, where="bob")
    commit_to(rival, {INVOICE: b"public class Invoice {\n  Integer count;\n}\n"})
    promote([rival], p["bob"], developer)
    promotion = run(request_promotion(features=[rival], target=p["integration"], user=developer))
    assert promotion.status == PromotionStatus.CONFLICTED
    return promotion


def test_it_shows_each_conflicted_path_with_both_sides(client_for, conflicted):
    response = client_for("developer").get(conflicted.get_absolute_url())
    body = html.unescape(response.content.decode())
    assert f"<code>{INVOICE}</code>" in body
    assert "Decimal total;" in body and "Integer count;" in body  # ours and theirs
    assert "Ours: Integration" in body and "Theirs: the feature" in body
    assert "written into the merge commit of the next run, never into the feature branch" in body
    form = response.context["resolution_form"]
    [(conflict, field)] = form.rows
    assert conflict["path"] == INVOICE
    assert field.value() == conflict["result"] and "<<<<<<<" in field.value()
    assert 'id="resolution-form"' in body
    partial = client_for("developer").get(
        conflicted.get_absolute_url(), headers={"HX-Request": "true"}
    )
    assert partial.status_code == 286  # conflicted is final until someone retries


def test_it_refuses_a_resolution_that_still_has_conflict_markers(client_for, conflicted):
    marked = conflicted.conflicts[0]["result"]
    response = client_for("developer").post(
        reverse("promotion_resolve", args=[conflicted.pk]), {"resolution_0": marked}
    )
    assert response.status_code == 200
    errors = response.context["resolution_form"].errors["resolution_0"]
    assert "still contains conflict markers" in errors[0]
    conflicted.refresh_from_db()
    assert conflicted.status == PromotionStatus.CONFLICTED and not conflicted.resolutions


def test_it_resolves_in_the_merge_commit_and_leaves_the_feature_branch_alone(
    client_for, conflicted, git_pipeline
):
    rival = conflicted.items.get().feature
    with storage.open_repo(rival.repository.local_path) as repo:
        rival_head = storage.hex_id(storage.branch_head(repo, rival.branch))
    integration_before = head(git_pipeline["integration"])
    # Browsers send textareas with CRLF line breaks; the file keeps its LF ones.
    response = client_for("developer").post(
        reverse("promotion_resolve", args=[conflicted.pk]),
        {"resolution_0": RESOLVED.replace("\n", "\r\n")},
    )
    assert response["Location"] == conflicted.get_absolute_url()
    conflicted.refresh_from_db()
    assert conflicted.status == PromotionStatus.QUEUED
    assert conflicted.resolutions == {INVOICE: RESOLVED}
    assert head(git_pipeline["integration"]) == integration_before  # nothing moved yet

    assert run(conflicted).status == PromotionStatus.SUCCEEDED
    with storage.open_repo(rival.repository.local_path) as repo:
        integration = storage.branch_head(repo, "integration")
        assert storage.read_blob(repo, integration, INVOICE) == RESOLVED.encode()
        assert storage.hex_id(storage.branch_head(repo, rival.branch)) == rival_head
        assert b"Decimal" not in storage.read_blob(repo, rival_head, INVOICE)
    page = client_for("developer").get(conflicted.get_absolute_url()).content.decode()
    assert "Succeeded" in page and 'id="resolution-form"' not in page


def test_it_refuses_to_resolve_a_promotion_that_is_not_conflicted(client_for, conflicted):
    client = client_for("developer")
    client.post(reverse("promotion_retry", args=[conflicted.pk]))
    response = client.post(
        reverse("promotion_resolve", args=[conflicted.pk]), {"resolution_0": RESOLVED}, follow=True
    )
    assert "has no conflicts to resolve now" in response.content.decode()
    conflicted.refresh_from_db()
    assert conflicted.status == PromotionStatus.QUEUED and not conflicted.resolutions


def test_it_lets_only_the_requester_or_a_release_manager_resolve(client_for, conflicted):
    other = make_user("dora-dev", "Developers")
    client = client_for("developer")
    client.force_login(other)
    url = reverse("promotion_resolve", args=[conflicted.pk])
    assert client.post(url, {"resolution_0": RESOLVED}).status_code == 403
    assert client_for("release_manager").post(url, {"resolution_0": RESOLVED}).status_code == 302
