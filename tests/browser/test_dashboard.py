"""The pages release managers and developers click through, in a real Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from instances.models import Instance, Purpose
from tests.conftest import make_instance, make_repository

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

DOCS = Path(__file__).resolve().parents[2] / "docs"


def add_long_term_project(pipeline: dict[str, Instance]) -> dict[str, Instance]:
    """A long-term project on Acme's storage, promoting into Acme's UAT."""
    repo = make_repository(
        name="Acme Salesforce — Release 2027-Q1",
        storage="acme",
        main_branch="release/2027-q1",
        is_long_term=True,
    )
    staging = make_instance(
        repo,
        name="Q1 Staging",
        purpose=Purpose.STAGING,
        branch="q1/staging",
        parent=pipeline["uat"],
    )
    dev = make_instance(
        repo, name="Q1 Dev", purpose=Purpose.DEVELOPMENT, branch="q1/dev", parent=staging
    )
    return {"staging": staging, "dev": dev}


def add_features_on_the_way(pipeline, owner) -> None:
    """Two features in Dev Alice, one of them already in Integration: the diagram then shows
    features ready to go up and back promotions pending (records only, for the picture)."""
    from branching.models import Feature
    from instances.models import FeaturePresence

    for key, title, where in (
        ("RM-41", "Invoice totals", ("alice", "integration")),
        ("RM-42", "Tax rates", ("alice",)),
    ):
        feature = Feature.objects.create(
            repository=pipeline["repo"],
            key=key,
            title=title,
            owner=owner,
            branch=f"feature/{key}",
            started_from=pipeline["alice"],
        )
        for name in where:
            FeaturePresence.objects.create(
                feature=feature, instance=pipeline[name], commit="0" * 40
            )


def test_it_shows_the_pipeline_diagram_and_opens_an_instance_from_it(
    page: Page, log_in, release_manager, pipeline, live_server
):
    add_long_term_project(pipeline)
    add_features_on_the_way(pipeline, release_manager)
    acme, qa = pipeline["repo"], pipeline["qa"]

    log_in(release_manager)

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Pipeline")
    diagram = page.locator(f"#repository-{acme.pk} .diagram > svg")
    expect(diagram).to_be_visible()
    nodes = diagram.locator("g.node")
    expect(nodes).to_have_count(7)
    expected_ids = {
        f"instance-{instance.pk}" for key, instance in pipeline.items() if key != "repo"
    }
    assert set(nodes.evaluate_all("nodes => nodes.map(n => n.id)")) == expected_ids
    for name in ("Production", "UAT", "QA", "Integration", "Dev Alice", "Dev Bob", "Scratch CI"):
        expect(diagram.get_by_text(name, exact=True)).to_be_visible()

    expect(diagram.get_by_text("1 ready").first).to_be_visible()
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=DOCS / "dashboard.png", full_page=True)

    diagram.locator(f"g#instance-{qa.pk} a").click()

    expect(page).to_have_url(f"{live_server.url}/instances/{qa.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("QA")


def test_it_filters_the_instance_list_without_reloading_the_page(
    page: Page, log_in, release_manager, pipeline, live_server
):
    log_in(release_manager)
    page.goto("/instances/")
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(7)
    page.evaluate("window.stillTheSamePage = true")

    with page.expect_request(lambda r: r.headers.get("hx-request") == "true"):
        page.get_by_label("Purpose").select_option("qa")

    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("QA")
    expect(page).to_have_url(re.compile(r"/instances/\?.*\bpurpose=qa\b"))
    assert page.evaluate("window.stillTheSamePage") is True


def test_it_shows_a_branch_name_error_inline_and_saves_a_valid_change(
    page: Page, log_in, release_manager, pipeline, live_server
):
    qa = pipeline["qa"]
    log_in(release_manager)
    page.goto(f"/instances/{qa.pk}/edit/")
    page.evaluate("window.stillTheSamePage = true")
    branch = page.get_by_label("Branch")

    branch.fill("bad..name")
    page.get_by_role("button", name="Save").click()

    expect(page.locator(".field.has-error .error")).to_have_text(
        "A branch name cannot contain '..'."
    )
    expect(page).to_have_url(f"{live_server.url}/instances/{qa.pk}/edit/")
    assert page.evaluate("window.stillTheSamePage") is True
    qa.refresh_from_db()
    assert qa.branch == "qa"

    branch.fill("env/qa")
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(f"{live_server.url}/instances/{qa.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("QA")
    expect(page.get_by_role("status")).to_contain_text("saved")
    expect(page.locator(".facts code").first).to_have_text("env/qa")
    qa.refresh_from_db()
    assert qa.branch == "env/qa"


def test_it_hides_management_buttons_from_a_developer(
    page: Page, log_in, developer, pipeline, live_server
):
    log_in(developer)

    expect(page.get_by_role("heading", level=1)).to_have_text("Pipeline")
    expect(page.locator(f"#repository-{pipeline['repo'].pk} svg g.node")).to_have_count(7)
    expect(page.get_by_role("link", name="New instance")).to_have_count(0)

    page.goto(f"/instances/{pipeline['qa'].pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("QA")
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)


def test_it_shows_an_outsider_the_no_access_page(page: Page, log_in, outsider, pipeline):
    log_in(outsider)

    expect(page.get_by_role("heading", level=1)).to_have_text("No access")
    expect(page.locator("main")).not_to_contain_text("Production")
    response = page.goto(f"/instances/{pipeline['qa'].pk}/")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("No access")
