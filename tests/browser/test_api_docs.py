"""The API's docs page in a real Chromium: Swagger UI from our own static files renders the
OpenAPI document under the site's Content-Security-Policy, and creating a token on the
settings page shows it once."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from releasemgr import tokens

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_docs_page_renders_every_operation_with_no_csp_violation(
    page: Page, log_in, developer, live_server
):
    log_in(developer)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto("/api/v1/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() >= 25
    expect(page.get_by_text("/api/v1/promotions/{pk}/approve")).to_be_visible()
    assert problems == []  # a CSP violation or a parse error would be reported here
    assert requested and all(url.startswith(live_server.url) for url in requested)  # no CDN


def test_a_new_token_is_shown_once_and_works(page: Page, log_in, developer):
    log_in(developer)
    page.goto("/settings/tokens/")
    page.get_by_label("Name").fill("ci-main")
    page.get_by_role("checkbox", name="Request promotions", exact=True).check()
    page.get_by_role("button", name="Create token").click()
    raw = page.locator("#new-token code").inner_text()
    assert tokens.authenticate(raw) is not None
    page.goto("/settings/tokens/")
    expect(page.get_by_role("cell", name="ci-main")).to_be_visible()
    assert raw not in page.content()
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("is revoked")).to_be_visible()
    assert tokens.authenticate(raw) is None
