"""allowed_actions: who may do what to a promotion, in each state; the page shows the same."""

from __future__ import annotations

import pytest
from django.urls import reverse

from instances.models import Direction, Promotion, PromotionStatus
from instances.promotions.errors import PromotionError
from instances.promotions.rules import Action, allowed_actions
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

A, R, C, T, S = Action.APPROVE, Action.REJECT, Action.CANCEL, Action.RETRY, Action.RESOLVE
CONFLICTS = [{"path": "a.cls", "base": "a", "ours": "b", "theirs": "c"}]


@pytest.fixture
def requester(db):
    return make_user("dora-dev", "Developers")


def promotion_in(status: str, target, requester) -> Promotion:
    return Promotion.objects.create(
        target=target,
        direction=Direction.ENTER,
        requested_by=requester,
        status=status,
        conflicts=CONFLICTS if status == PromotionStatus.CONFLICTED else [],
    )


# state → (open to a release manager, open to the requester); nobody else may do anything.
OPEN = {
    PromotionStatus.AWAITING_APPROVAL: ({A, R, C}, {C}),
    PromotionStatus.QUEUED: ({C}, {C}),
    PromotionStatus.RUNNING: (set(), set()),
    PromotionStatus.CONFLICTED: ({T, S, C}, {T, S, C}),
    PromotionStatus.FAILED: ({T, C}, {T, C}),
    PromotionStatus.ERRORED: ({T}, {T}),
    PromotionStatus.SUCCEEDED: (set(), set()),
    PromotionStatus.REJECTED: (set(), set()),
    PromotionStatus.CANCELLED: (set(), set()),
}


@pytest.mark.parametrize("status", list(OPEN))
def test_it_opens_each_action_to_the_right_people_in_each_state(
    pipeline, requester, developer, release_manager, admin_user, status
):
    promotion = promotion_in(status, pipeline["alice"], requester)
    for_manager, for_requester = OPEN[status]
    for user, expected in [
        (release_manager, for_manager),
        (admin_user, for_manager),
        (requester, for_requester),
        (developer, set()),
    ]:
        allowed = allowed_actions(promotion, user)
        assert {a for a in Action if a in allowed} == expected, (user.username, status)


def test_it_says_why_an_action_is_refused(pipeline, requester, developer, release_manager):
    promotion = promotion_in(PromotionStatus.RUNNING, pipeline["alice"], requester)
    with pytest.raises(PromotionError, match="Only release managers approve"):
        allowed_actions(promotion, developer).check(A)
    with pytest.raises(PromotionError, match="only waiting, conflicted or failed promotions"):
        allowed_actions(promotion, requester).check(C)
    errored = promotion_in(PromotionStatus.ERRORED, pipeline["alice"], requester)
    with pytest.raises(PromotionError, match="may have reached Dev Alice before it stopped"):
        allowed_actions(errored, requester).check(C)
    mine = promotion_in(PromotionStatus.AWAITING_APPROVAL, pipeline["alice"], release_manager)
    with pytest.raises(PromotionError, match="someone other than its requester"):
        allowed_actions(mine, release_manager).check(A)
    assert allowed_actions(mine, release_manager).permitted >= {A, R, C}


def test_the_page_shows_exactly_the_open_actions(pipeline, requester, client_for):
    promotion = promotion_in(PromotionStatus.FAILED, pipeline["alice"], requester)
    page = client_for("release_manager").get(promotion.get_absolute_url()).content.decode()
    assert reverse("promotion_retry", args=[promotion.pk]) in page
    assert reverse("promotion_cancel", args=[promotion.pk]) in page  # give it up
    for name in ("promotion_approve", "promotion_reject"):
        assert reverse(name, args=[promotion.pk]) not in page
    page = client_for("developer").get(promotion.get_absolute_url()).content.decode()
    assert reverse("promotion_retry", args=[promotion.pk]) not in page
