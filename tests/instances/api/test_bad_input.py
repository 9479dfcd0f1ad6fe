"""Bad input over real HTTP: a problem document (RFC 9457) with the pages' message, and
nothing changed: no row, no log line, no audit event, no branch."""

from __future__ import annotations

from typing import Any

import pytest

from branching.models import Feature
from instances.models import Deployment, Promotion, PromotionLog, PromotionStatus
from releasemgr.models import AuditEvent
from tests.instances.promotions.helpers import head

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def snapshot(w: dict[str, Any]) -> Any:
    return (
        Feature.objects.count(),
        sorted(Promotion.objects.values_list("id", "status")),
        PromotionLog.objects.count(),
        Deployment.objects.count(),
        AuditEvent.objects.count(),
        {k: head(w[k]) for k in ("alice", "integration")},
    )


CASES = [
    # (method, path, body, status, words in the detail)
    (
        "POST",
        "/features",
        {"instance": "alice", "key": "bad key", "title": "x"},
        400,
        "A feature key is a project code, a dash and a number",
    ),
    (
        "POST",
        "/features",
        {"instance": 999999, "key": "RM-50", "title": "x"},
        400,
        "Select a valid choice",
    ),
    (
        "POST",
        "/features",
        {"instance": "alice", "key": "RM-1", "title": "Again"},
        409,
        "already exists",
    ),
    ("POST", "/features", {"instance": "alice", "key": "RM-51"}, 400, "title: Field required"),
    (
        "POST",
        "/features",
        {"instance": "alice", "key": "RM-52", "title": "x", "attach_branch": "no/such/branch"},
        409,
        "no branch",
    ),
    (
        "POST",
        "/promotions",
        {"features": [], "target": "alice"},
        400,
        "Choose at least one feature.",
    ),
    (
        "POST",
        "/promotions",
        {"features": ["RM-404"], "target": "alice"},
        400,
        "RM-404 is not one of the available choices",
    ),
    (
        "POST",
        "/promotions",
        {"features": ["RM-1"], "target": "prod"},
        400,
        "Production can only receive features from a child",
    ),
    (
        "POST",
        "/promotions",
        {"features": ["RM-2"], "target": "bob"},
        400,
        "Dev Bob can only receive features from a child",
    ),
    (
        "POST",
        "/promotions",
        {
            "features": ["RM-1"],
            "target": "alice",
            "test_level": "RunSpecifiedTests",
            "run_tests": "not a class",
        },
        400,
        "Not an Apex class name",
    ),
    ("POST", "/promotions", {"target": "alice", "features": "RM-1"}, 400, "features"),
    ("POST", "/promotions/queued/approve", {"reason": ""}, 409, "not awaiting approval"),
    (
        "POST",
        "/promotions/awaiting/reject",
        {"reason": "  "},
        409,
        "Say why the promotion is rejected.",
    ),
    ("POST", "/promotions/awaiting/retry", None, 409, "cannot be retried now"),
    ("POST", "/promotions/queued/resolve", {"resolutions": {}}, 409, "no conflicts to resolve"),
    (
        "POST",
        "/promotions/conflicted/resolve",
        {"resolutions": {"../../etc/passwd": "x"}},
        400,
        "Not a conflicted path",
    ),
    (
        "POST",
        "/promotions/conflicted/resolve",
        {"resolutions": {"force-app/main/default/classes/Invoice.cls": "<<<<<<< x\nb\n"}},
        400,
        "still contains conflict markers",
    ),
    ("POST", "/promotions/999999/approve", {}, 404, "No promotion with id 999999"),
    (
        "POST",
        "/instances/integration/deployments",
        {"revision": "no-such-branch", "kind": "deploy", "test_level": "NoTestRun"},
        409,
        "no-such-branch",
    ),
    (
        "POST",
        "/instances/integration/deployments",
        {"revision": "integration", "kind": "destroy", "test_level": "NoTestRun"},
        400,
        "Select a valid choice",
    ),
    (
        "POST",
        "/instances/alice/deployments",
        {"revision": "integration", "kind": "deploy", "test_level": "NoTestRun"},
        409,
        "Dev Alice has no org connection to deploy to.",
    ),
    ("GET", "/features/RM-404", None, 404, "No feature RM-404."),
    ("GET", "/instances/999999", None, 404, "No instance with id 999999."),
    ("GET", "/features?page=99", None, 404, "There is no page 99"),
    ("GET", "/features?page_size=1000", None, 400, "page_size"),
    ("GET", "/promotions?status=bogus", None, 400, "Unknown status"),
    ("GET", "/promotions/abc", None, 400, "pk"),
    # NUL, which PostgreSQL's text cannot hold: refused before any lookup.
    (
        "POST",
        "/promotions",
        {"features": ["RM-1\u0000"], "target": "integration"},
        400,
        "Null characters are not allowed",
    ),
    ("GET", "/features/RM-1%00", None, 400, "A URL may not hold a NUL character"),
    ("GET", "/promotions?feature=RM-1%00", None, 400, "A URL may not hold a NUL character"),
    # Ids beyond the database's 64 bits: refused before a query the database would fail.
    ("GET", "/instances?repository=99999999999999999999", None, 400, "less than or equal"),
    ("GET", "/features?instance=9223372036854775808", None, 400, "instance: Input should"),
    ("GET", "/promotions?target=99999999999999999999", None, 400, "target: Input should"),
    ("GET", "/deployments?promotion=99999999999999999999", None, 400, "promotion: Input"),
    ("GET", "/metrics?repository=99999999999999999999", None, 400, "repository: Input"),
    ("GET", "/no/such/endpoint", None, 404, "There is no API path"),
]


def _resolve(w: dict[str, Any], value: Any) -> Any:
    if isinstance(value, str) and value in w and hasattr(w[value], "pk"):
        return w[value].pk
    return value


def _path(w: dict[str, Any], path: str) -> str:
    parts = [str(_resolve(w, part)) for part in path.split("/")]
    return "/".join(parts)


def test_bad_input_is_a_problem_and_changes_nothing(api, world, token_for):
    """Every case against one world: each refusal must leave it exactly as it was."""
    token = token_for("admin")
    for method, path, body, status, words in CASES:
        if isinstance(body, dict):
            body = {
                k: _resolve(world, v) if k in ("instance", "target") else v for k, v in body.items()
            }
        before = snapshot(world)
        answer = api(method, _path(world, path), token, body)
        assert answer.status == status, (path, answer.body[:500])
        problem = answer.problem
        assert words in problem["detail"], (path, problem)
        assert problem["title"] and problem["type"] == "about:blank"
        assert problem["instance"].startswith("/api/v1/")
        assert snapshot(world) == before, (path, words)


def test_a_failed_promotion_is_given_up_once(api, world, token_for):
    """Cancelling what failed ends it for good; a second cancel is refused and changes nothing."""
    token = token_for("admin")
    path = f"/promotions/{world['failed'].pk}/cancel"
    answer = api("POST", path, token)
    assert answer.status == 200, answer.body[:500]
    assert answer.data["status"] == "cancelled"
    before = snapshot(world)
    again = api("POST", path, token)
    assert again.status == 409
    assert (
        "only waiting, conflicted or failed promotions can be cancelled"
        in (again.problem["detail"])
    )
    assert snapshot(world) == before


def test_a_body_that_is_not_json_is_a_problem(api, world, token_for):
    token = token_for("admin")
    before = snapshot(world)
    answer = api("POST", "/promotions", token, raw=b"{not json")
    assert answer.status == 400
    assert "Cannot parse request body" in answer.problem["detail"]
    assert snapshot(world) == before


def test_a_dry_run_answers_conflicts_and_queues_nothing(api, world, token_for):
    from tests.instances.promotions.helpers import commit_to, run_request_jobs

    path = "force-app/main/default/classes/Invoice.cls"
    commit_to(world["rm1"], {path: b"public class Invoice { /* feature */ }\n"})
    # The same file changed on Dev Alice's branch: entering conflicts.
    from branching.git import storage

    with storage.open_repo(world["repo"].local_path) as repo:
        old = storage.branch_head(repo, "dev/alice")
        new = storage.commit_changes(
            repo,
            parent=old,
            changes={path: b"public class Invoice { /* alice */ }\n"},
            message="alice",
            author="Alice <a@example.com>",
        )
        storage.update_branch(repo, "dev/alice", new, old)
    token = token_for("developer")
    before = snapshot(world)
    body = {"features": ["RM-1"], "target": world["alice"].pk}
    answer = api("POST", "/promotions", token, {**body, "dry_run": True})
    assert answer.status == 202  # a worker's job: nothing merged inside the call
    assert answer.data["terminal"] is False and answer.data["result"] == {}
    assert run_request_jobs() == ["succeeded"]
    answer = api("GET", answer.data["url"].split("/api/v1")[1], token)
    assert answer.data["terminal"] is True
    assert answer.data["result"]["clean"] is False
    assert answer.data["result"]["conflicts"] == {"RM-1": [path]}
    assert answer.data["result"]["direction"] == "enter"
    refused = api("POST", "/promotions", token, body)
    assert refused.status == 202
    assert run_request_jobs() == ["succeeded"]
    refused = api("GET", f"/jobs/{refused.data['id']}", token)
    assert refused.data["result"]["conflicts"] == {"RM-1": [path]}
    assert "promotion" not in refused.data["result"]
    assert "queue it anyway" in refused.data["message"]
    assert snapshot(world) == before
    queued = api("POST", "/promotions", token, {**body, "queue_anyway": True})
    assert queued.status == 201
    assert queued.data["status"] == PromotionStatus.QUEUED
