"""Whole workflows in a real Chromium, with a real task cluster doing the work behind the pages."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, expect

from instances.models import Deployment, DeploymentStatus, PromotionStatus
from tests.browser.conftest import VIEWPORT, log_in_on
from tests.instances.promotions.helpers import commit_to, start
from tests.workers import task_cluster

pytest_plugins = ["tests.salesforce_standin.plugin"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PROMOTION_PAGE = re.compile(r"/promotions/(\d+)/$")
APEX = "force-app/main/default/classes/InvoiceService.cls"


def session_for(browser: Browser, live_server, user: User) -> Page:
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
    context.set_default_timeout(20_000)
    return log_in_on(context.new_page(), user)


def test_a_developer_requests_a_release_manager_approves_and_the_page_follows(
    browser: Browser, live_server, developer, release_manager, git_pipeline, tmp_path
):
    p = git_pipeline
    p["integration"].requires_approval = True
    p["integration"].save()
    feature = start(p, "RM-21", "Tax rates", developer)
    commit_to(feature, {"force-app/main/default/classes/Tax.cls": b"public class Tax {}\n"})
    log = tmp_path / "qcluster.log"
    with task_cluster(log, Q_WORKERS="2", PROMOTION_STEP_PAUSE="0.3"):
        dev = session_for(browser, live_server, developer)
        dev.goto(feature.get_absolute_url())
        dev.get_by_role("button", name=re.compile("Bring in|Dev Alice")).first.click()
        dev.wait_for_url(PROMOTION_PAGE)
        if dev.get_by_role("button", name="Request promotion").count():
            dev.get_by_role("button", name="Request promotion").click()
            dev.wait_for_url(PROMOTION_PAGE)
        expect(dev.locator("#promotion-status")).to_have_text("Succeeded", timeout=60_000)

        dev.goto(feature.get_absolute_url())
        dev.get_by_role("button", name=re.compile("Promote to Integration")).click()
        dev.wait_for_url(PROMOTION_PAGE)
        if dev.get_by_role("button", name="Request promotion").count():
            dev.get_by_role("button", name="Request promotion").click()
            dev.wait_for_url(PROMOTION_PAGE)
        expect(dev.locator("#promotion-status")).to_have_text("Awaiting approval")
        expect(dev.locator("#live")).to_contain_text("approval by a release manager other than")
        url = dev.url

        manager = session_for(browser, live_server, release_manager)
        manager.goto(url)
        manager.get_by_label(re.compile("Reason")).fill("Looks good")
        manager.get_by_role("button", name="Approve").click()

        # The developer's page was not reloaded: it follows the run by polling.
        expect(dev.locator("#promotion-status")).to_have_text("Running", timeout=30_000)
        expect(dev.locator("#promotion-status")).to_have_text("Succeeded", timeout=60_000)
        expect(dev.locator("#live")).to_contain_text("rita-rm approved: Looks good.")
        expect(dev.locator("#live")).to_contain_text("Succeeded: RM-21 now in Integration.")


def test_a_release_manager_connects_an_org_tests_it_and_watches_a_deployment(
    browser: Browser, live_server, release_manager, developer, git_pipeline, salesforce, tmp_path
):
    p = git_pipeline
    salesforce.knobs.deploy_polls = 6
    feature = start(p, "RM-31", "Invoice service", developer)
    commit_to(
        feature,
        {
            APEX: b"public class InvoiceService {}\n",
            APEX + "-meta.xml": b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<ApexClass xmlns="http://soap.sforce.com/2006/04/metadata">\n'
            b"    <apiVersion>62.0</apiVersion>\n    <status>Active</status>\n"
            b"</ApexClass>\n",
        },
    )
    user = next(iter(salesforce.users.values()))
    log = tmp_path / "qcluster.log"
    with task_cluster(
        log,
        Q_WORKERS="2",
        SALESFORCE_CA_BUNDLE=str(salesforce.ca_path),
        SALESFORCE_EXTRA_HOSTS="127.0.0.1",  # the stand-in: an allowed org host for the worker
        DEPLOY_POLL_SECONDS="0.5",
    ):
        page = session_for(browser, live_server, release_manager)
        page.goto(p["alice"].get_absolute_url())
        page.get_by_role("link", name="Connect an org").click()
        page.get_by_label("Auth method").select_option("password")
        page.get_by_label("Login host").fill(salesforce.url)
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password", exact=True).fill(user.password)
        page.get_by_label("Security token").fill(user.security_token)
        page.get_by_role("button", name="Save connection").click()
        page.wait_for_url(re.compile(rf"/instances/{p['alice'].pk}/$"))

        page.get_by_role("button", name="Test connection").click()
        expect(page.get_by_text("Org id")).to_be_visible(timeout=30_000)
        expect(page.locator("body")).not_to_contain_text(user.password)

        page.goto(feature.get_absolute_url())
        page.get_by_role("button", name=re.compile("Bring in|Dev Alice")).first.click()
        page.wait_for_url(PROMOTION_PAGE)
        if page.get_by_role("button", name="Request promotion").count():
            page.get_by_role("button", name="Request promotion").click()
            page.wait_for_url(PROMOTION_PAGE)
        live = page.locator("#live")
        expect(live).to_contain_text("In progress", timeout=60_000)
        expect(live).to_contain_text(re.compile(r"Components \d+ of \d+"))
        expect(page.locator("#promotion-status")).to_have_text("Succeeded", timeout=60_000)
        page.screenshot(path=str(tmp_path / "deployment.png"), full_page=True)

    deployment = Deployment.objects.get()
    assert deployment.status == DeploymentStatus.SUCCEEDED
    assert deployment.promotion.status == PromotionStatus.SUCCEEDED
    assert len(salesforce.deployments) == 1
