"""Start-up checks of settings that are each valid alone but wrong together."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, register


def longest_task_seconds() -> int:
    """How long a promotion's task may need: two deployment waits and the work around them."""
    return 2 * int(settings.DEPLOY_TIMEOUT_SECONDS) + int(settings.TASK_MARGIN_SECONDS)


@register()
def task_timeout_covers_deployments(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """The cluster kills a task at Q_TIMEOUT: a deployment must not outlive its task."""
    timeout: Any = settings.Q_CLUSTER.get("timeout")
    need = longest_task_seconds()
    if timeout is None or int(timeout) >= need:
        return []
    return [
        Error(
            f"Q_TIMEOUT ({timeout} s) is shorter than a promotion may wait for its deployments "
            f"(2 × DEPLOY_TIMEOUT_SECONDS + {settings.TASK_MARGIN_SECONDS} s = {need} s): the "
            "task cluster would kill a long deployment mid-wait.",
            hint="Unset Q_TIMEOUT (it then follows DEPLOY_TIMEOUT_SECONDS), raise it, or lower "
            "DEPLOY_TIMEOUT_SECONDS.",
            id="releasemgr.E001",
        )
    ]


@register()
def simulated_org_only_in_the_demo(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """The demo's simulated org (and the loopback org host it allows) never runs for real."""
    if not settings.DEMO_SIMULATED_ORG or settings.DEBUG:
        return []
    return [
        Error(
            "DEMO_SIMULATED_ORG is on without DEBUG: the simulated Salesforce org is for the "
            "demo only (`make run`), never for a server people rely on.",
            hint="Unset DEMO_SIMULATED_ORG.",
            id="releasemgr.E002",
        )
    ]
