"""Rolling back over the API: what it cannot undo first, the acknowledgement, refusals that
change nothing, and the rollback promotion it queues."""

from __future__ import annotations

import pytest

from instances.models import Direction, Promotion, PromotionStatus
from tests.instances.promotions.helpers import make_feature, make_promotion, promote_invoice

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def promoted(git_pipeline, developer) -> Promotion:
    return promote_invoice(git_pipeline, developer)[1]


def rollbacks() -> int:
    return Promotion.objects.filter(direction=Direction.ROLLBACK).count()


def test_it_lists_what_a_rollback_cannot_undo_to_those_who_may(api, promoted, token_for):
    path = f"/promotions/{promoted.pk}/rollback"
    answer = api("GET", path, token_for("release_manager", ["read"]))
    assert answer.status == 200
    assert answer.data["allowed"] is True and answer.data["refused"] == ""
    assert answer.data["features"] == ["RM-1"]
    assert answer.data["reverts"] == [promoted.target_head_before, promoted.target_head_after]
    titles = [c["title"] for c in answer.data["cannot_undo"]]
    assert "Records changed since" in titles
    assert api("GET", path, token_for("developer", ["read"])).status == 403
    assert api("GET", path).status == 401


def test_it_needs_the_acknowledgement(api, promoted, token_for):
    answer = api("POST", f"/promotions/{promoted.pk}/rollback", token_for("release_manager"), {})
    assert answer.status == 400
    assert "Acknowledge what the rollback cannot undo" in " ".join(
        answer.problem["errors"]["acknowledge"]
    )
    assert rollbacks() == 0


def test_it_queues_the_rollback_and_refuses_a_second(api, promoted, token_for):
    token = token_for("release_manager", ["promote"])
    path = f"/promotions/{promoted.pk}/rollback"
    answer = api("POST", path, token, {"acknowledge": True})
    assert answer.status == 201, answer.body[:500]
    made = answer.data
    assert made["direction"] == "rollback" and made["rollback_of"] == promoted.pk
    assert made["source"] is None and made["features"] == ["RM-1"]
    assert made["status"] == "queued"
    again = api("POST", path, token, {"acknowledge": True})
    assert again.status == 409
    assert f"is rolling back by #{made['id']}" in again.problem["detail"]
    assert (
        "is a rollback"
        in api("POST", f"/promotions/{made['id']}/rollback", token, {"acknowledge": True}).problem[
            "detail"
        ]
    )
    assert rollbacks() == 1
    preview = api("GET", path, token).data
    assert preview["allowed"] is False and "is rolling back" in preview["refused"]


def test_a_promotion_that_did_not_succeed_is_refused(api, pipeline, developer, token_for):
    feature = make_feature(pipeline["repo"], "RM-9", developer)
    failed = make_promotion(
        pipeline["integration"],
        [feature],
        developer,
        source=pipeline["alice"],
        status=PromotionStatus.FAILED,
    )
    answer = api(
        "POST",
        f"/promotions/{failed.pk}/rollback",
        token_for("release_manager"),
        {"acknowledge": True},
    )
    assert answer.status == 409
    assert "only a succeeded promotion can be rolled back" in answer.problem["detail"]
    assert rollbacks() == 0


def test_the_openapi_document_has_the_rollback(api, world, token_for):
    document = api("GET", "/openapi.json", token_for("admin", ["read"])).data
    operations = document["paths"]["/api/v1/promotions/{pk}/rollback"]
    assert set(operations) == {"get", "post"}
    body = operations["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "acknowledge" in str(document["components"]["schemas"]["RollbackRequest"])
    assert body
