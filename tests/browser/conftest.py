"""A real Chromium (Debian's, never a downloaded one) driven by Playwright against live_server.

Playwright's sync API marks an event loop as running in the test thread between its calls, and
Django refuses ORM calls from a thread with a running loop unless told otherwise. The tests touch
the ORM before and after browser steps, never from inside Playwright callbacks, so allowing it
here is safe. (The same marker makes Django hand the test a fresh database connection once the
browser has started, so nothing attached to the connection that set the test database up, such
as `serialized_rollback`'s snapshot, survives into these tests.)

Browser tests need committed data (the live server answers from another thread), so they run
with `django_db(transaction=True)`; the flush after each of them empties every table, including
the role groups a data migration created, so `role_groups` runs that migration's code again.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import PASSWORD

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The data migrations that make the role groups and grant their permissions, with the function
# each runs forward.
ROLE_MIGRATIONS = [
    ("0002_roles", "create_roles"),
    ("0003_promotion_roles", "grant"),
    ("0004_deployment_roles", "grant"),
]
VIEWPORT = {"width": 1400, "height": 900}
TIMEOUT_MS = 10_000


@pytest.fixture(autouse=True)
def role_groups(transactional_db: None) -> None:
    """The Developers and Release managers groups, made by the data migrations' own code."""
    loader = MigrationLoader(connection)
    for name, function in ROLE_MIGRATIONS:
        module = importlib.import_module(f"releasemgr.migrations.{name}")
        state = loader.project_state(("releasemgr", name))
        getattr(module, function)(state.apps, connection.schema_editor())


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}; run `make chromium`.")
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        # launch() gives the browser a fresh temporary profile and removes it on close.
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server) -> Iterator[Page]:
    """A page in a fresh context (no cookies from earlier tests) on the live server."""
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def log_in(page: Page) -> Callable[[User], Page]:
    """Log in through the real login form, as a person would."""
    return lambda user: log_in_on(page, user)


def log_in_on(page: Page, user: User) -> Page:
    """Type `user`'s credentials into the login form of `page`."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").press_sequentially(user.get_username())
    page.get_by_label("Password").press_sequentially(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page
