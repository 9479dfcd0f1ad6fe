"""A release manager rolls back a promotion from its page, acknowledges what it cannot undo,
and watches the rollback run live, with a real task cluster doing the work."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from branching.git import storage
from instances.models import Direction, FeaturePresence, Promotion, PromotionStatus
from tests.instances.promotions.helpers import TAX, promote_invoice
from tests.workers import task_cluster

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PROMOTION_PAGE = re.compile(r"/promotions/(\d+)/$")


def test_a_release_manager_rolls_back_a_promotion_and_watches_it_run(
    page: Page, log_in, developer, release_manager, git_pipeline, tmp_path
):
    feature, promoted = promote_invoice(git_pipeline, developer)
    integration = git_pipeline["integration"]
    log_in(release_manager)
    page.goto(promoted.get_absolute_url())
    page.get_by_role("link", name="Roll back").click()
    page.wait_for_url(re.compile(r"/rollback/$"))
    expect(page.locator("#cannot-undo")).to_contain_text("Records changed since")

    # Without the acknowledgement nothing is queued (the browser asks for the box first).
    acknowledge = page.get_by_label("I understand what this rollback cannot undo")
    expect(acknowledge).to_have_attribute("required", "")
    page.get_by_role("button", name=f"Roll back promotion #{promoted.pk}").click()
    expect(page).to_have_url(re.compile(r"/rollback/$"))
    assert not Promotion.objects.filter(direction=Direction.ROLLBACK).exists()

    log = tmp_path / "qcluster.log"
    with task_cluster(log, Q_WORKERS="2", PROMOTION_STEP_PAUSE="0.5"):
        acknowledge.check()
        page.get_by_role("button", name=f"Roll back promotion #{promoted.pk}").click()
        page.wait_for_url(PROMOTION_PAGE)
        rollback = Promotion.objects.get(rollback_of=promoted)
        assert page.url.endswith(rollback.get_absolute_url())
        expect(page.locator("#rollback-of")).to_contain_text(f"Promotion #{promoted.pk}")
        # The page is not reloaded: it follows the run by polling.
        expect(page.locator("#promotion-status")).to_have_text("Running", timeout=30_000)
        expect(page.locator(".steps .step-current")).to_have_count(1)
        expect(page.locator("#promotion-status")).to_have_text("Succeeded", timeout=60_000)
        expect(page.locator("#live")).to_contain_text(
            f"Reverted the merges of promotion #{promoted.pk}."
        )
        expect(page.locator("#live")).to_contain_text("RM-1 no longer in Integration.")
    rollback.refresh_from_db()
    assert rollback.status == PromotionStatus.SUCCEEDED, log.read_text()[-3000:]
    assert not FeaturePresence.objects.filter(feature=feature, instance=integration).exists()
    with storage.open_repo(integration.repository.local_path) as repo:
        assert storage.read_blob(repo, rollback.target_head_after, TAX) is None

    page.goto(feature.get_absolute_url())
    expect(page.locator(f"#presence-{integration.pk}")).to_contain_text(
        f"rolled back by #{rollback.pk}"
    )
