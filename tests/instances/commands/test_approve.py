"""`manage.py approve`: a release manager other than the requester approves."""

from __future__ import annotations

import pytest

from branching.features import start_feature
from instances.models import Promotion, PromotionStatus
from tests.instances.commands.cli import refused, run

pytestmark = pytest.mark.django_db


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
