"""The permission matrix over real HTTP: every endpoint, each persona, each token scope.

The API asks the pages' access helpers, so a persona gets here what it gets on the pages; a
token's scopes narrow that further and never widen it. A refused act changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from branching.models import Feature
from instances.models import Deployment, Promotion, PromotionLog, PromotionStatus
from releasemgr.models import AuditEvent, Job
from tests.instances.promotions.helpers import run_request_jobs

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ROLES = ["developer", "release_manager", "admin"]


def reads(w: dict[str, Any]) -> list[str]:
    """Every GET path, with ids and keys from the world."""
    return [
        "/me",
        "/repositories",
        f"/repositories/{w['repo'].pk}",
        f"/repositories/{w['repo'].pk}/hierarchy",
        "/instances",
        f"/instances/{w['integration'].pk}",
        "/features",
        "/features/RM-1",
        "/promotions",
        f"/promotions/{w['conflicted'].pk}",
        f"/promotions/{w['conflicted'].pk}/log",
        f"/promotions/{w['awaiting'].pk}/approvals",
        f"/promotions/{w['conflicted'].pk}/conflicts",
        "/deployments",
        f"/deployments/{w['deployment'].pk}",
        f"/deployments/{w['deployment'].pk}/package",
        f"/deployments/{w['deployment'].pk}/log",
        "/collections",
        f"/collections/{w['collection'].pk}",
        "/metrics",
        f"/metrics/instances/{w['integration'].pk}",
        f"/metrics/repositories/{w['repo'].pk}",
    ]


@pytest.mark.parametrize(
    ("persona", "status"),
    [("developer", 200), ("release_manager", 200), ("admin", 200), ("outsider", 403)],
)
def test_every_read_answers_each_persona_as_the_pages_do(api, world, token_for, persona, status):
    token = token_for(persona, ["read"])
    for path in reads(world):
        answer = api("GET", path, token)
        assert answer.status == status, (path, answer.body[:300])
        if status != 200:
            assert "no role" in answer.problem["detail"]


def test_a_signed_in_session_without_a_role_gets_problems_not_the_no_access_page(
    api, world, outsider, client
):
    client.force_login(outsider)
    cookie = {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}
    for path in [*reads(world), "/openapi.json", "/no/such/path"]:
        answer = api("GET", path, headers=cookie)
        expected = 404 if path == "/no/such/path" else 403
        assert answer.status == expected, (path, answer.body[:300])
        if expected == 403:
            assert "oscar-outsider has no role" in answer.problem["detail"], path
    csrf = "c" * 32
    acted = api(
        "POST",
        "/features",
        body={"instance": "Dev Alice", "key": "RM-9", "title": "Nine"},
        headers={"Cookie": f"{cookie['Cookie']}; csrftoken={csrf}", "X-CSRFToken": csrf},
    )
    assert acted.status == 403 and "oscar-outsider has no role" in acted.problem["detail"]
    assert not Feature.objects.filter(key="RM-9").exists()
    # The docs page is a page: it says so as the pages do.
    docs = api("GET", "/docs", headers=cookie)
    assert docs.status == 403 and docs.content_type.startswith("text/html")
    assert b"no access" in docs.body.lower()


def test_every_read_refuses_a_caller_without_a_token(api, world):
    for path in reads(world):
        answer = api("GET", path)
        assert answer.status == 401, path
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert "Authorization: Bearer" in answer.problem["detail"]


@dataclass(frozen=True)
class Act:
    method: str
    # The path and body for one attempt; each attempt gets its own object to act on.
    request: Callable[[dict[str, Any], int], tuple[str, Any]]
    scope: str
    allowed: tuple[str, ...]
    success: int
    # What the act changes, read before and after: a refusal must leave it as it was.
    state: Callable[[dict[str, Any]], Any]


def _fresh(w: dict[str, Any], status: str, **fields: Any) -> Promotion:
    from tests.instances.promotions.helpers import make_promotion

    return make_promotion(
        w["integration"], [w["rm2"]], w["developer"], source=w["alice"], status=status, **fields
    )


def _on(status: str, action: str, body: Any = None, **fields: Any):
    def request(w: dict[str, Any], n: int) -> tuple[str, Any]:
        return f"/promotions/{_fresh(w, status, **fields).pk}/{action}", body

    return request


def promotions_state(w: dict[str, Any]) -> Any:
    return (
        sorted(Promotion.objects.values_list("id", "status")),
        PromotionLog.objects.count(),
    )


CONFLICTS = [
    {
        "path": "force-app/main/default/classes/Invoice.cls",
        "kinds": ["content"],
        "base": "a\n",
        "ours": "b\n",
        "theirs": "c\n",
        "result": "<<<<<<< integration\nb\n=======\nc\n>>>>>>> feature/RM-2\n",
    }
]

ACTS = {
    "start a feature": Act(
        "POST",
        lambda w, n: ("/features", {"instance": w["bob"].pk, "key": f"RM-9{n}", "title": "API"}),
        "promote",
        tuple(ROLES),
        201,
        lambda w: Feature.objects.count(),
    ),
    "request a promotion": Act(
        "POST",
        lambda w, n: ("/promotions", {"features": ["RM-1"], "target": w["alice"].pk}),
        "promote",
        tuple(ROLES),
        202,  # the dry run first, by a worker: a job
        lambda w: (Promotion.objects.count(), Job.objects.count()),
    ),
    "queue a promotion anyway": Act(
        "POST",
        lambda w, n: (
            "/promotions",
            {"features": ["RM-1"], "target": w["alice"].pk, "queue_anyway": True},
        ),
        "promote",
        tuple(ROLES),
        201,
        lambda w: Promotion.objects.count(),
    ),
    "dry-run a promotion": Act(
        "POST",
        lambda w, n: (
            "/promotions",
            {"features": ["RM-1"], "target": w["alice"].pk, "dry_run": True},
        ),
        "promote",
        tuple(ROLES),
        202,
        lambda w: (Promotion.objects.count(), Job.objects.count()),
    ),
    "approve": Act(
        "POST",
        _on(PromotionStatus.AWAITING_APPROVAL, "approve", {"reason": "Signed off"}),
        "approve",
        ("release_manager", "admin"),
        200,
        promotions_state,
    ),
    "reject": Act(
        "POST",
        _on(PromotionStatus.AWAITING_APPROVAL, "reject", {"reason": "Not in this release"}),
        "approve",
        ("release_manager", "admin"),
        200,
        promotions_state,
    ),
    "cancel": Act(
        "POST",
        _on(PromotionStatus.QUEUED, "cancel"),
        "promote",
        tuple(ROLES),  # the developer requested it
        200,
        promotions_state,
    ),
    "retry": Act(
        "POST",
        _on(PromotionStatus.FAILED, "retry", failure_reason="The org said no."),
        "promote",
        tuple(ROLES),
        200,
        promotions_state,
    ),
    "resolve": Act(
        "POST",
        _on(
            PromotionStatus.CONFLICTED,
            "resolve",
            {"resolutions": {"force-app/main/default/classes/Invoice.cls": "b\nc\n"}},
            conflicts=CONFLICTS,
        ),
        "promote",
        tuple(ROLES),
        200,
        promotions_state,
    ),
    "roll back": Act(
        "POST",
        _on(
            PromotionStatus.SUCCEEDED,
            "rollback",
            {"acknowledge": True},
            target_head_before="1" * 40,
            target_head_after="2" * 40,
        ),
        "promote",
        ("release_manager", "admin"),
        201,
        promotions_state,
    ),
    "start a deployment": Act(
        "POST",
        lambda w, n: (
            f"/instances/{w['integration'].pk}/deployments",
            {"revision": "integration", "kind": "validate", "test_level": "NoTestRun"},
        ),
        "manage",
        ("release_manager", "admin"),
        201,
        lambda w: Deployment.objects.count(),
    ),
}


@pytest.mark.parametrize("name", list(ACTS))
def test_each_act_is_allowed_exactly_to_whom_the_pages_allow_it(api, world, token_for, name):
    act = ACTS[name]
    for n, persona in enumerate(["anonymous", "outsider", *ROLES]):
        token = None if persona == "anonymous" else token_for(persona)
        path, body = act.request(world, n)
        before, events = act.state(world), AuditEvent.objects.count()
        answer = api(act.method, path, token, body)
        if persona in act.allowed:
            assert answer.status == act.success, (persona, answer.body[:500])
            assert answer.content_type.startswith("application/json")
            if name != "dry-run a promotion":
                assert act.state(world) != before, persona
            continue
        expected = 401 if persona == "anonymous" else 403
        assert answer.status == expected, (persona, answer.body[:500])
        assert answer.problem["detail"]
        assert act.state(world) == before, persona
        assert AuditEvent.objects.count() == events, persona


@pytest.mark.parametrize("name", list(ACTS))
def test_a_token_does_only_what_its_scopes_allow(api, world, token_for, name):
    act = ACTS[name]
    for n, scope in enumerate(["read", "promote", "approve", "manage"]):
        path, body = act.request(world, n)
        before = act.state(world)
        answer = api(act.method, path, token_for("admin", [scope]), body)
        if scope == act.scope:
            assert answer.status == act.success, (scope, answer.body[:500])
            continue
        assert answer.status == 403, (scope, answer.body[:500])
        assert "does not have the" in answer.problem["detail"]
        assert act.state(world) == before, scope


def test_a_token_never_carries_more_than_its_user(api, world, token_for):
    """A developer's token with every scope still may not approve or deploy."""
    token = token_for("developer")
    answer = api("POST", f"/promotions/{world['awaiting'].pk}/approve", token, {"reason": ""})
    assert answer.status == 403
    assert answer.problem["detail"] == "You may not approve promotions into Integration."
    answer = api(
        "POST",
        f"/instances/{world['integration'].pk}/deployments",
        token,
        {"revision": "integration", "kind": "deploy", "test_level": "NoTestRun"},
    )
    assert answer.status == 403
    world["awaiting"].refresh_from_db()
    assert world["awaiting"].status == PromotionStatus.AWAITING_APPROVAL


def test_only_the_requester_or_a_release_manager_cancels(api, world, token_for, personas):
    from tests.conftest import make_user

    other = make_user("dora-dev", "Developers")
    personas["other"] = other
    answer = api("POST", f"/promotions/{world['queued'].pk}/cancel", token_for("other"))
    assert answer.status == 403
    assert answer.problem["detail"] == "Only the requester or a release manager can do that."
    world["queued"].refresh_from_db()
    assert world["queued"].status == PromotionStatus.QUEUED


def test_the_requester_may_not_approve_their_own(api, world, token_for):
    from tests.instances.promotions.helpers import make_promotion

    mine = make_promotion(
        world["integration"],
        [world["rm2"]],
        world["awaiting"].requested_by,
        source=world["alice"],
        status=PromotionStatus.AWAITING_APPROVAL,
    )
    mine.requested_by = world["deployment"].requested_by  # the release manager asked for it
    mine.save(update_fields=["requested_by"])
    answer = api("POST", f"/promotions/{mine.pk}/approve", token_for("release_manager"), {})
    assert answer.status == 409
    assert "someone other than its requester" in answer.problem["detail"]


def test_acts_through_a_token_are_attributed_to_it(api, world, token_for, release_manager):
    token = token_for("release_manager", ["approve"])
    answer = api("POST", f"/promotions/{world['awaiting'].pk}/approve", token, {"reason": "ok"})
    assert answer.status == 200
    line = PromotionLog.objects.filter(promotion=world["awaiting"]).order_by("id").first()
    assert line is not None
    assert line.actor == release_manager
    assert line.message == "rita-rm approved: ok. (via token release_manager-approve)"
    answer = api(
        "POST",
        "/features",
        token_for("developer", ["promote"]),
        {"instance": world["bob"].pk, "key": "RM-9", "title": "Attributed"},
    )
    assert answer.status == 201
    event = AuditEvent.objects.get(action="started", target_repr__startswith="RM-9")
    assert event.via_token == "developer-promote"


def test_a_collection_is_requested_with_its_features_in_order(api, world, token_for):
    body = {"features": ["RM-2"], "collection": world["collection"].pk, "target": world["alice"].pk}
    answer = api("POST", "/promotions", token_for("developer"), body)
    assert answer.status == 202, answer.body[:500]  # the dry run first: a worker's job
    assert run_request_jobs() == ["succeeded"]
    job = api("GET", f"/jobs/{answer.data['id']}", token_for("developer")).data
    assert job["status"] == "succeeded" and job["result"]["clean"] is True
    answer = api("GET", job["promotion_url"].split("/api/v1")[1], token_for("developer"))
    assert answer.data["features"] == ["RM-2", "RM-1"]
    # Done by the worker, still through the token that asked.
    first = PromotionLog.objects.filter(promotion_id=job["result"]["promotion"]).first()
    assert first is not None and "(via token developer" in first.message
    assert answer.data["collection_id"] == world["collection"].pk
    missing = api("POST", "/promotions", token_for("developer"), {**body, "collection": 999999})
    assert missing.status == 404
    assert missing.problem["detail"] == "No collection with id 999999."


def test_an_instance_hidden_by_a_grant_is_hidden_from_the_api_too(api, world, token_for):
    """The per-instance grants of the access layer apply to every call, lists included."""
    from django.contrib.auth.models import Group

    from instances.models import Capability, InstanceGrant

    bob = world["bob"]
    InstanceGrant.objects.create(
        instance=bob, capability=Capability.VIEW, group=Group.objects.get(name="Release managers")
    )
    dev, rm = token_for("developer"), token_for("release_manager")
    assert api("GET", f"/instances/{bob.pk}", dev).status == 404
    assert api("GET", f"/instances/{bob.pk}", rm).status == 200
    names = {i["name"] for i in api("GET", "/instances?page_size=200", dev).data["results"]}
    assert "Dev Bob" not in names and "Dev Alice" in names
    hierarchy = api("GET", f"/repositories/{world['repo'].pk}/hierarchy", dev).data
    assert "Dev Bob" not in {row["instance"]["name"] for row in hierarchy["instances"]}
    started = api("POST", "/features", dev, {"instance": bob.pk, "key": "RM-60", "title": "x"})
    assert started.status == 400 and "Select a valid choice" in started.problem["detail"]
    assert not Feature.objects.filter(key="RM-60").exists()
