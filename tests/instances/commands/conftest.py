"""A promotion awaiting approval, for the approve and reject commands."""

from __future__ import annotations

import pytest

from branching.features import start_feature
from instances.models import Promotion, PromotionStatus
from tests.instances.commands.cli import run


@pytest.fixture
def awaiting(git_pipeline, personas) -> Promotion:
    """A promotion into Dev Alice, which requires approval, requested by the developer."""
    git_pipeline["alice"].requires_approval = True
    git_pipeline["alice"].save()
    start_feature(
        git_pipeline["repo"],
        key="RM-1",
        title="One",
        owner=personas["developer"],
        started_from_id=git_pipeline["alice"].pk,
    )
    out = run("promote", "RM-1", "--to", "Dev Alice", "--as", "dan-dev")
    assert "Waiting for approval by a release manager other than dan-dev" in out
    promotion = Promotion.objects.get()
    assert promotion.status == PromotionStatus.AWAITING_APPROVAL
    return promotion
