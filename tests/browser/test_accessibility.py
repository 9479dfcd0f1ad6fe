"""Every page of the demo through axe-core: no serious or critical finding; and the dashboard's
actions by keyboard alone.

The pages are found by following the links of the demo (seeded through the real engine), so a
new page is audited as soon as something links to it. Downloads, the admin and logging out are
left alone.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page

from tests.browser.axe import axe_source
from tests.browser.conftest import VIEWPORT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "demo-accessibility"
MAX_PAGES = 80
SKIP_PREFIXES = ("/admin/", "/accounts/logout", "/static/", "/healthz")
SKIP_SUFFIXES = (".csv", ".svg", ".zip", ".log", ".json", ".txt", "/download/", "/package/")
SERIOUS = {"serious", "critical"}


@pytest.fixture
def demo(demo_settings, monkeypatch):
    """The demo as `make run` seeds it, with its simulated org (QA's pages label it)."""
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    call_command("seed_demo", "--if-empty", verbosity=0)


def _session(browser: Browser, live_server, username: str) -> Page:
    # axe is injected as a script: the pages' own policy forbids that, so this context
    # bypasses it (the pages' CSP has its own tests).
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url, bypass_csp=True)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page


def _links(page: Page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    svg = page.eval_on_selector_all(
        "svg a", "els => els.map(e => e.getAttribute('href') || e.getAttribute('xlink:href'))"
    )
    out = []
    for href in [*hrefs, *svg]:
        if not href or href.startswith(("#", "mailto:", "javascript:")):
            continue
        url = urlsplit(urljoin(base, href))
        if url.netloc != urlsplit(base).netloc:
            continue
        path = url.path + (f"?{url.query}" if url.query else "")
        if path.startswith(SKIP_PREFIXES) or url.path.endswith(SKIP_SUFFIXES):
            continue
        out.append(path)
    return out


def _audit(page: Page, source: str) -> list[dict]:
    page.add_script_tag(content=source)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v["impact"] in SERIOUS]


@pytest.mark.parametrize("username", ["release-manager", "developer"])
def test_every_page_has_no_serious_accessibility_finding(browser, live_server, demo, username):
    source = axe_source()
    page = _session(browser, live_server, username)
    queue, seen, findings = ["/"], set(), {}
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        # One page per URL pattern is enough: /promotions/12/ stands for every promotion.
        shape = "".join("0" if c.isdigit() else c for c in path.split("?")[0])
        if shape in seen:
            continue
        seen.add(shape)
        response = page.goto(path)
        assert response is not None and response.status < 500, f"{path}: {response.status}"
        if response.status >= 400:
            continue
        page.wait_for_load_state("domcontentloaded")
        for violation in _audit(page, source):
            nodes = [n["target"] for n in violation["nodes"][:3]]
            findings.setdefault(path, []).append(
                f"{violation['id']} ({violation['impact']}): {nodes}"
            )
        queue.extend(_links(page, live_server.url + path))
    assert len(seen) >= 12, sorted(seen)  # the crawl found the product's pages
    assert not findings, "\n".join(f"{p}: {f}" for p, items in findings.items() for f in items)
    # The audit can fail: an image without a text alternative is a critical finding.
    page.goto("/")
    page.evaluate("() => document.querySelector('main').append(document.createElement('img'))")
    assert "image-alt" in {v["id"] for v in _audit(page, source)}


def test_the_dashboard_works_by_keyboard(browser, live_server, demo):
    page = _session(browser, live_server, "release-manager")
    page.goto("/")
    reached = set()
    for _ in range(120):
        page.keyboard.press("Tab")
        href = page.evaluate(
            "() => { const e = document.activeElement;"
            " return e && (e.getAttribute('href') || e.getAttribute('xlink:href')) }"
        )
        if href:
            reached.add(href)
    assert any(h.startswith("/promotions/") for h in reached)  # needs-attention links
    assert any(
        h.startswith("/instances/") and h.rstrip("/").split("/")[-1].isdigit() for h in reached
    )  # the diagram's nodes
    # Enter on a focused diagram node opens its instance.
    page.goto("/")
    node = page.locator("svg a").first
    node.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/instances/" in url)
