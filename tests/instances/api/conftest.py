"""The API over real HTTP: pytest-django's live server (a threaded WSGI server on a free
loopback port) and urllib, with personal access tokens made for the personas."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.cache import cache

from releasemgr import tokens
from releasemgr.models import Job, Scope

ALL_SCOPES = [s.value for s in Scope]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    data: Any = field(default=None)

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def problem(self) -> dict[str, Any]:
        assert self.content_type.startswith("application/problem+json"), (
            self.status,
            self.content_type,
            self.body[:500],
        )
        assert isinstance(self.data, dict) and self.data["status"] == self.status
        return self.data


def call(
    base: str,
    method: str,
    path: str,
    token: str | None = None,
    body: Any = None,
    *,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    sent = {"Accept": "application/json", **(headers or {})}
    if data is not None:
        sent.setdefault("Content-Type", "application/json")
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base + path, data=data, method=method, headers=sent)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            status, got, content = response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        status, got, content = exc.code, exc.headers, exc.read()
    answer = Answer(status, {k.lower(): v for k, v in got.items()}, content)
    if answer.content_type.startswith(("application/json", "application/problem+json")):
        answer.data = json.loads(content)
    return answer


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    """Every test starts with empty rate-limit windows (the cache outlives a test)."""
    cache.clear()


@pytest.fixture
def api(live_server) -> Callable[..., Answer]:
    base = live_server.url

    def request(method: str, path: str, token: str | None = None, body: Any = None, **kw: Any):
        return call(base, method, "/api/v1" + path, token, body, **kw)

    return request


@pytest.fixture
def token_for(personas) -> Callable[..., str]:
    """A raw token for a persona, with the scopes given (default: all of them)."""
    made: dict[tuple[str, tuple[str, ...]], str] = {}

    def make(persona: str, scopes: list[str] | None = None) -> str:
        chosen = tuple(scopes or ALL_SCOPES)
        if (persona, chosen) not in made:
            user = personas[persona]
            _, raw = tokens.create_token(user, f"{persona}-{'-'.join(chosen)}", list(chosen))
            made[(persona, chosen)] = raw
        return made[(persona, chosen)]

    return make


@pytest.fixture
def world(git_pipeline, developer, release_manager, settings, tmp_path) -> dict[str, Any]:
    """Something for every endpoint to find: features, a promotion in each actionable state,
    an org connection to deploy to, a deployment with its package and log, a collection."""
    from branching.models import Collection
    from instances.deployments import runner
    from instances.models import AuthMethod, DeploymentKind, OrgConnection, PromotionStatus
    from tests.instances.promotions.helpers import make_promotion, place, start

    settings.ARTIFACTS_DIR = tmp_path / "artifacts"
    p = git_pipeline
    rm1 = start(p, "RM-1", "Invoice totals", developer)
    rm2 = start(p, "RM-2", "Tax rules", developer)
    place(rm2, p["alice"])
    awaiting = make_promotion(
        p["integration"],
        [rm2],
        developer,
        source=p["alice"],
        status=PromotionStatus.AWAITING_APPROVAL,
    )
    queued = make_promotion(p["integration"], [rm2], developer, source=p["alice"])
    failed = make_promotion(
        p["integration"],
        [rm2],
        developer,
        source=p["alice"],
        status=PromotionStatus.FAILED,
        failure_reason="The org said no.",
    )
    conflicted = make_promotion(
        p["integration"],
        [rm2],
        developer,
        source=p["alice"],
        status=PromotionStatus.CONFLICTED,
        conflicts=[
            {
                "path": "force-app/main/default/classes/Invoice.cls",
                "kinds": ["content"],
                "base": "a\n",
                "ours": "b\n",
                "theirs": "c\n",
                "result": "<<<<<<< integration\nb\n=======\nc\n>>>>>>> feature/RM-2\n",
            }
        ],
    )
    connection = OrgConnection.objects.create(
        instance=p["integration"],
        auth_method=AuthMethod.ACCESS_TOKEN,
        instance_url="https://acme.my.salesforce.com",
        access_token="00Dxx!tokenvalue",
    )
    deployment = runner.create(
        instance=p["integration"],
        connection=connection,
        kind=DeploymentKind.VALIDATE,
        from_commit="",
        to_commit="c" * 40,
        test_level="NoTestRun",
        requested_by_id=release_manager.pk,
    )
    package = runner.artifact_path(deployment)
    package.parent.mkdir(parents=True, exist_ok=True)
    package.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip
    runner.log_path(deployment).write_text("2026-12-01 10:00:00 Validating.\n")
    deployment.artifact = package.name
    deployment.save(update_fields=["artifact"])
    collection = Collection.objects.create(name="Spring release", created_by=release_manager)
    collection.features.add(rm1, rm2)
    job = Job.objects.create(
        title="Deploy integration to Integration", requested_by=release_manager
    )
    return {
        **p,
        "developer": developer,
        "rm1": rm1,
        "rm2": rm2,
        "awaiting": awaiting,
        "queued": queued,
        "failed": failed,
        "conflicted": conflicted,
        "deployment": deployment,
        "collection": collection,
        "job": job,
    }
