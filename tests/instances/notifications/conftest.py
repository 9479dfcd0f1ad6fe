"""Notification fixtures: tasks run in-process when their transaction commits.

The tests that use them commit for real (`django_db(transaction=True)`), so a task queued
with `transaction.on_commit` runs when, and only when, the change that queued it commits.
"""

from __future__ import annotations

from typing import Any

import pytest

from instances.notifications import events, signals, tasks


@pytest.fixture
def inline_tasks(monkeypatch):
    """Run queued tasks at once instead of through the broker (the cluster test covers that)."""
    ran: list[str] = []

    def run(func: Any, *args: Any, **kwargs: Any) -> None:
        ran.append(func.__name__)
        func(*args)

    for module in (events, signals, tasks):
        monkeypatch.setattr(module, "async_task", run)
    return ran


@pytest.fixture
def loopback_webhooks(settings):
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 1.0
    settings.NOTIFY_RETRY_SECONDS = 0.2
    settings.NOTIFY_MAX_ATTEMPTS = 3
    settings.SITE_URL = "https://releasemgr.example.com"
    return settings
