"""The API's conflicts answer says which paths can be resolved as text, and its resolve
refuses text for the others (400, nothing changed); taking a side keeps its bytes exactly."""

from __future__ import annotations

import pytest

from instances.models import PromotionStatus
from tests.instances.promotions.helpers import blob_at, conflict_on, run
from tests.instances.promotions.test_conflict_bytes import CASES, PATH

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture(params=list(CASES))
def case(request, git_pipeline, developer):
    base, ours, theirs, why = CASES[request.param]
    return conflict_on(git_pipeline, developer, PATH, base, ours, theirs), ours, theirs, why


def test_the_conflicts_answer_says_why_it_cannot_be_edited(api, token_for, case):
    promotion, _ours, _theirs, why = case
    answer = api("GET", f"/promotions/{promotion.pk}/conflicts", token_for("developer"))
    assert answer.status == 200
    [conflict] = answer.data
    assert conflict["path"] == PATH
    assert conflict["editable"] is False
    assert conflict["why_not_editable"] == why
    assert conflict["take"] == ["ours", "theirs"]
    detail = api("GET", f"/promotions/{promotion.pk}", token_for("developer")).data
    assert detail["conflicts"][0]["editable"] is False


def test_a_text_resolution_is_refused_and_nothing_changes(api, token_for, case, git_pipeline):
    promotion, ours, _theirs, why = case
    shown = promotion.conflicts[0]["ours"]
    answer = api(
        "POST",
        f"/promotions/{promotion.pk}/resolve",
        token_for("developer"),
        {"resolutions": {PATH: shown}},
    )
    assert answer.status == 400
    assert (
        f"{PATH} cannot be resolved as text here: {why}; take one side whole"
        in (answer.problem["detail"])
    )
    promotion.refresh_from_db()
    assert promotion.status == PromotionStatus.CONFLICTED and not promotion.resolutions
    assert blob_at(git_pipeline["integration"], PATH) == ours


def test_taking_theirs_commits_its_bytes_exactly(api, token_for, case, git_pipeline):
    promotion, _ours, theirs, _why = case
    answer = api(
        "POST",
        f"/promotions/{promotion.pk}/resolve",
        token_for("developer"),
        {"take": {PATH: "theirs"}},
    )
    assert answer.status == 200, answer.data
    assert answer.data["status"] == PromotionStatus.QUEUED
    promotion.refresh_from_db()
    assert run(promotion).status == PromotionStatus.SUCCEEDED, promotion.failure_reason
    assert blob_at(git_pipeline["integration"], PATH) == theirs


def test_a_text_resolution_with_an_unpaired_surrogate_is_refused(
    api, token_for, git_pipeline, developer
):
    promotion = conflict_on(git_pipeline, developer, PATH, b"a\nb\n", b"a\nours\n", b"a\nt\n")
    answer = api(
        "POST",
        f"/promotions/{promotion.pk}/resolve",
        token_for("developer"),
        raw=b'{"resolutions": {"' + PATH.encode() + b'": "a\\n\\ud800\\n"}}',
    )
    assert answer.status == 400
    assert "unpaired surrogate" in answer.problem["detail"]
    promotion.refresh_from_db()
    assert promotion.status == PromotionStatus.CONFLICTED and not promotion.resolutions
