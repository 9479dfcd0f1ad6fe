"""Promotion pages in a real Chromium: one-click requests, the live page, resolving conflicts."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from instances.models import Promotion, PromotionStatus
from tests.instances.promotions.helpers import (
    INVOICE,
    commit_to,
    promote,
    run,
    run_request_jobs,
    start,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PROMOTION_PAGE = re.compile(r"/promotions/\d+/$")


def test_it_requests_with_one_click_and_follows_the_promotion_live(
    page: Page, log_in, developer, git_pipeline
):
    alice = git_pipeline["alice"]
    feature = start(git_pipeline, "RM-1", "Invoice totals", developer)
    log_in(developer)
    page.goto(alice.get_absolute_url())
    page.locator("#features-here").get_by_role("button", name="Bring in").click()
    expect(page.locator("#dry-run-status")).to_contain_text("Queued")
    assert run_request_jobs() == ["succeeded"]  # the worker's dry run, clean: it requests
    page.wait_for_url(PROMOTION_PAGE)
    promotion = Promotion.objects.get(items__feature=feature)
    assert page.url.endswith(promotion.get_absolute_url())
    expect(page.locator("#promotion-status")).to_have_text("Queued")

    polls: list[int] = []
    page.on(
        "response",
        lambda r: polls.append(r.status) if r.request.headers.get("hx-request") else None,
    )
    run(promotion)  # a worker picks it up; the page notices within a second
    expect(page.locator("#promotion-status")).to_have_text("Succeeded")
    expect(page.locator("#live")).to_contain_text("Succeeded: RM-1 now in Dev Alice.")
    assert polls[-1] == 286
    count = len(polls)
    page.wait_for_timeout(2500)
    assert len(polls) == count  # polling stopped


def test_it_resolves_a_conflict_in_the_browser(page: Page, log_in, developer, git_pipeline):
    p = git_pipeline
    first = start(p, "RM-1", "Invoice totals", developer)
    commit_to(first, {INVOICE: b"public class Invoice {\n  Decimal total;\n}\n"})
    promote([first], p["alice"], developer)
    promote([first], p["integration"], developer)
    rival = start(p, "RM-3", "Invoice count", developer, where="bob")
    commit_to(rival, {INVOICE: b"public class Invoice {\n  Integer count;\n}\n"})
    promote([rival], p["bob"], developer)

    log_in(developer)
    page.goto(rival.get_absolute_url())
    page.get_by_role("button", name="Promote to Integration (from Dev Bob)").click()
    expect(page.locator("#dry-run-status")).to_contain_text("Queued")
    assert run_request_jobs() == ["succeeded"]  # the worker's dry run; the page follows it
    expect(page.locator(".conflicts")).to_contain_text(INVOICE)
    page.get_by_label("Queue it anyway and resolve on the promotion page").check()
    page.get_by_role("button", name="Request promotion").click()
    page.wait_for_url(PROMOTION_PAGE)
    promotion = Promotion.objects.get(items__feature=rival, target=p["integration"])
    run(promotion)
    expect(page.locator("#promotion-status")).to_have_text("Conflicted")

    resolution = page.get_by_label(f"Resolved content of {INVOICE}")
    expect(resolution).to_have_value(promotion.conflicts[0]["result"])
    page.get_by_role("button", name="Retry with these resolutions").click()
    expect(page.locator(".errorlist, .error").first).to_contain_text("conflict markers")

    resolved = "public class Invoice {\n  Decimal total;\n  Integer count;\n}\n"
    page.get_by_label(f"Resolved content of {INVOICE}").fill(resolved)
    page.get_by_role("button", name="Retry with these resolutions").click()
    expect(page.locator(".messages")).to_contain_text("queued again with your resolutions")
    promotion.refresh_from_db()
    assert promotion.status == PromotionStatus.QUEUED
    assert promotion.resolutions == {INVOICE: resolved}
    run(promotion)
    expect(page.locator("#promotion-status")).to_have_text("Succeeded")
