"""The OpenAPI document validates (openapi-spec-validator), every path in it answers, and the
docs page is served from our own static files (no CDN) under the site's CSP."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from openapi_spec_validator import validate

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), f"a key twice in one object: {keys}"
    return dict(pairs)


def _fill(path: str, w: dict[str, Any]) -> str:
    """Ids and keys as in the pages' URLs, from the world."""
    ids = {
        "/api/v1/repositories/{pk}": w["repo"].pk,
        "/api/v1/instances/{pk}": w["integration"].pk,
        "/api/v1/promotions/{pk}": w["conflicted"].pk,
        "/api/v1/deployments/{pk}": w["deployment"].pk,
        "/api/v1/collections/{pk}": w["collection"].pk,
        "/api/v1/metrics/instances/{pk}": w["integration"].pk,
        "/api/v1/metrics/repositories/{pk}": w["repo"].pk,
        "/api/v1/jobs/{pk}": w["job"].pk,
    }
    for prefix, pk in ids.items():
        if path.startswith(prefix):
            path = path.replace("{pk}", str(pk))
    path = path.replace("{resolution_id}", str(w["recorded_resolution"].pk))
    return path.replace("{key}", "RM-1")


def test_the_document_validates_and_every_path_answers(api, world, token_for):
    from tests.instances.promotions.test_resolution_views import make_resolution

    world["recorded_resolution"] = make_resolution(world, world["developer"])
    token = token_for("admin", ["read"])
    answer = api("GET", "/openapi.json", token)
    assert answer.status == 200
    document = answer.data
    validate(document)
    # Browsers' parsers (Swagger UI's) refuse a key twice in one object; json.loads keeps one.
    json.loads(answer.body, object_pairs_hook=_no_duplicate_keys)
    assert document["components"]["securitySchemes"]["BearerToken"] == {
        "type": "http",
        "scheme": "bearer",
    }
    seen = 0
    for path, operations in document["paths"].items():
        assert path.startswith("/api/v1/")
        concrete = _fill(path, world)
        assert not re.search(r"{\w+}", concrete), path
        for method in operations:
            seen += 1
            got = api(method.upper(), concrete.removeprefix("/api/v1"), token, {})
            if method == "get":
                assert got.status == 200, (path, got.body[:300])
            else:
                # A read-only token and an empty body: every act answers, refusing with a
                # problem document (the body's shape is checked first, then the scope).
                assert got.status in (400, 403), (path, got.body[:300])
                assert got.problem["detail"]
    assert seen >= 25


def test_the_document_needs_a_token_or_a_session(api, world):
    assert api("GET", "/openapi.json").status == 401


def test_the_docs_page_is_vendored_and_needs_a_login(live_server, world, developer):
    from django.test import Client

    anonymous = Client().get("/api/v1/docs")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    client = Client()
    client.force_login(developer)
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "<script>" not in html  # no inline script for CSP
    assert "script-src 'self'" in page["Content-Security-Policy"]
    for asset in re.findall(r'(?:src|href)="(/static/ninja/[^"]+)"', html):
        assert client.get(asset).status_code == 200, asset
