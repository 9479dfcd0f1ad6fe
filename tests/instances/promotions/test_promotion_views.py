"""The promotion page, its actions and the list: permissions, live polling, the whole flow."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from instances.models import Promotion, PromotionStatus, Step
from instances.promotions.queue import waiting_reason, waiting_reasons
from tests.conftest import make_user
from tests.instances.promotions.helpers import (
    HOSTILE,
    INVOICE,
    commit_to,
    make_feature,
    make_promotion,
    promote,
    run,
    run_request_jobs,
    start,
)
from tests.personas import PERSONAS, READ, answers

pytestmark = pytest.mark.django_db

# POSTs answer with a redirect back to the promotion page when allowed (a refusal from the
# domain, such as "not awaiting approval", is a message there).
APPROVE = answers(302, developer=False)
ACT = APPROVE  # on someone else's promotion: release managers only
ACTIONS = ["promotion_approve", "promotion_reject", "promotion_cancel", "promotion_retry"]


@pytest.fixture
def requester(db):
    return make_user("dora-dev", "Developers")


@pytest.fixture
def waiting(pipeline, requester):
    """Someone else's promotion of RM-1 from Dev Alice into Integration, awaiting approval."""
    feature = make_feature(pipeline["repo"], "RM-1", requester, title="Invoice totals")
    return make_promotion(
        pipeline["integration"],
        [feature],
        requester,
        source=pipeline["alice"],
        status=PromotionStatus.AWAITING_APPROVAL,
    )


def live(response) -> str:
    match = re.search(r'<div id="live"[^>]*>', response.content.decode())
    assert match, "no live part on the page"
    return match.group(0)


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", ["promotion_list", "promotion_detail"])
def test_it_enforces_the_permission_matrix_for_pages(client_for, waiting, persona, name):
    args = [waiting.pk] if name == "promotion_detail" else []
    response = client_for(persona).get(reverse(name, args=args))
    assert response.status_code == READ[persona]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", [*ACTIONS, "promotion_resolve"])
def test_it_enforces_the_permission_matrix_for_actions(client_for, waiting, persona, name):
    expected = APPROVE if name in ("promotion_approve", "promotion_reject") else ACT
    response = client_for(persona).post(reverse(name, args=[waiting.pk]), {"reason": "because"})
    assert response.status_code == expected[persona]
    if persona == "anonymous":
        assert response["Location"].startswith(reverse("login"))
    elif response.status_code == 302:
        assert response["Location"] == waiting.get_absolute_url()


@pytest.mark.parametrize("name", [*ACTIONS, "promotion_resolve"])
def test_it_accepts_actions_only_by_post(client_for, waiting, name):
    response = client_for("release_manager").get(reverse(name, args=[waiting.pk]))
    assert response.status_code == 405


def test_it_lets_the_requester_cancel_but_not_approve(client_for, waiting, requester):
    client = client_for("developer")
    client.force_login(requester)
    assert client.post(reverse("promotion_approve", args=[waiting.pk])).status_code == 403
    response = client.post(reverse("promotion_cancel", args=[waiting.pk]), follow=True)
    waiting.refresh_from_db()
    assert waiting.status == PromotionStatus.CANCELLED
    assert f"Promotion #{waiting.pk} cancelled." in response.content.decode()


def test_it_answers_404_for_an_unknown_promotion(client_for, db):
    assert client_for("developer").get(reverse("promotion_detail", args=[999999])).status_code == (
        404
    )
    response = client_for("release_manager").post(reverse("promotion_approve", args=[999999]))
    assert response.status_code == 404


def test_it_polls_while_unfinished_and_stops_once_finished(client_for, waiting):
    client = client_for("developer")
    url = waiting.get_absolute_url()
    tag = live(client.get(url))
    assert f'hx-get="{url}"' in tag and 'hx-trigger="every 1s"' in tag

    partial = client.get(url, headers={"HX-Request": "true"})
    assert partial.status_code == 200
    body = partial.content.decode()
    assert body.lstrip().startswith('<div id="live"') and "<html" not in body
    assert 'hx-trigger="every 1s"' in body

    waiting.status = PromotionStatus.CANCELLED
    waiting.save(update_fields=["status"])
    final = client.get(url, headers={"HX-Request": "true"})
    assert final.status_code == 286  # htmx stops polling
    assert "Cancelled" in final.content.decode() and "hx-trigger" not in final.content.decode()
    assert "hx-trigger" not in live(client.get(url))


def test_it_shows_approve_and_reject_only_to_release_managers_other_than_the_requester(
    client_for, waiting, release_manager
):
    url = waiting.get_absolute_url()
    approve_url = reverse("promotion_approve", args=[waiting.pk])
    assert approve_url in client_for("release_manager").get(url).content.decode()
    assert approve_url not in client_for("developer").get(url).content.decode()
    waiting.requested_by = release_manager
    waiting.save(update_fields=["requested_by"])
    assert approve_url not in client_for("release_manager").get(url).content.decode()


def test_it_turns_an_approval_by_the_requester_into_a_message(client_for, waiting, release_manager):
    waiting.requested_by = release_manager
    waiting.save(update_fields=["requested_by"])
    response = client_for("release_manager").post(
        reverse("promotion_approve", args=[waiting.pk]), follow=True
    )
    assert response.status_code == 200
    assert "needs approval by someone other than its requester" in response.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == PromotionStatus.AWAITING_APPROVAL


def test_it_rejects_only_with_a_reason(client_for, waiting):
    client = client_for("release_manager")
    url = reverse("promotion_reject", args=[waiting.pk])
    response = client.post(url, {"reason": "  "}, follow=True)
    assert "Say why the promotion is rejected." in response.content.decode()
    waiting.refresh_from_db()
    assert waiting.status == PromotionStatus.AWAITING_APPROVAL
    response = client.post(url, {"reason": "Not this sprint"}, follow=True)
    waiting.refresh_from_db()
    assert waiting.status == PromotionStatus.REJECTED
    body = response.content.decode()
    assert "Not this sprint" in body and "Rejected" in body


def test_it_retries_a_failed_promotion_for_its_requester(client_for, pipeline, developer):
    feature = make_feature(pipeline["repo"], "RM-1", developer)
    failed = make_promotion(
        pipeline["alice"], [feature], developer, status=PromotionStatus.FAILED, step=Step.CHECKED
    )
    failed.failure_reason = "The deployment said no."
    failed.save(update_fields=["failure_reason"])
    page = client_for("developer").get(failed.get_absolute_url()).content.decode()
    assert "The deployment said no." in page and 'class="step-stopped"' in page
    response = client_for("developer").post(reverse("promotion_retry", args=[failed.pk]))
    assert response["Location"] == failed.get_absolute_url()
    failed.refresh_from_db()
    assert failed.status == PromotionStatus.QUEUED and failed.attempt == 1


def test_it_runs_the_whole_flow_in_the_browser_pages(client_for, git_pipeline, developer):
    """A developer requests, a release manager approves, a worker runs it, the page shows it."""
    p = git_pipeline
    p["integration"].requires_approval = True
    p["integration"].save()
    feature = start(p, "RM-1", "Invoice totals", developer)
    commit_to(feature, {INVOICE: b"public class Invoice {\n  Decimal total;\n}\n"})
    promote([feature], p["alice"], developer)

    dev = client_for("developer")
    response = dev.post(
        reverse("promotion_create"), {"features": ["RM-1"], "target": p["integration"].pk}
    )
    assert run_request_jobs() == ["succeeded"]  # the dry run, then the request
    promotion = feature.promotions.get(target=p["integration"])
    assert promotion.get_absolute_url() in dev.get(response["Location"]).content.decode()
    page = dev.get(promotion.get_absolute_url()).content.decode()
    assert "Awaiting approval" in page
    assert "Waiting for approval by a release manager other than dan-dev" in page

    rm = client_for("release_manager")
    rm.post(reverse("promotion_approve", args=[promotion.pk]), {"reason": "Looks good"})
    promotion.refresh_from_db()
    assert promotion.status == PromotionStatus.QUEUED
    assert (
        "Waiting for a worker to pick it up."
        in dev.get(promotion.get_absolute_url()).content.decode()
    )

    assert run(promotion).status == PromotionStatus.SUCCEEDED
    final = dev.get(promotion.get_absolute_url(), headers={"HX-Request": "true"})
    assert final.status_code == 286
    body = final.content.decode()
    assert "Succeeded" in body and f'value="{Step.RECORDED}"' in body
    assert body.count('class="step-done"') == len(Step) - 1
    assert "Succeeded: RM-1 now in Integration." in body
    moved = promotion.log.get(message__startswith="Moved")
    assert f"{moved.from_commit[:10]}→{moved.to_commit[:10]}" in body
    assert moved.from_commit not in body.replace(f'title="{moved.from_commit}"', "")
    page = dev.get(promotion.get_absolute_url()).content.decode()
    assert "Approved by rita-rm" in page and "Looks good" in page


def test_it_lists_promotions_with_filters_and_why_they_wait(client_for, pipeline, developer):
    feature = make_feature(pipeline["repo"], "RM-1", developer)
    running = make_promotion(pipeline["alice"], [feature], developer, status="running")
    Promotion.objects.filter(pk=running.pk).update(
        claimed_by="w", lease_until=timezone.now() + timedelta(minutes=5)
    )
    behind = make_promotion(pipeline["alice"], [feature], developer)
    approval = make_promotion(
        pipeline["qa"], [feature], developer, status=PromotionStatus.AWAITING_APPROVAL
    )
    alone = make_promotion(pipeline["bob"], [feature], developer)
    done = make_promotion(pipeline["bob"], [feature], developer, status="succeeded")
    promotions = [running, behind, approval, alone, done]
    client = client_for("developer")

    def shown(**query: object) -> list[int]:
        return [p.pk for p, _ in client.get(reverse("promotion_list"), query).context["rows"]]

    assert shown() == sorted((p.pk for p in promotions), reverse=True)
    assert shown(status="succeeded") == [done.pk]
    assert shown(status="waiting") == [alone.pk, approval.pk, behind.pk, running.pk]
    assert shown(target=pipeline["bob"].pk) == [done.pk, alone.pk]
    body = client.get(reverse("promotion_list")).content.decode()
    assert f"Waiting behind promotion #{running.pk} to Dev Alice (running)." in body
    reasons = waiting_reasons(list(promotions))
    for promotion in promotions:
        assert reasons.get(promotion.pk, "") == waiting_reason(promotion)
    partial = client.get(reverse("promotion_list"), headers={"HX-Request": "true"})
    assert partial.content.decode().lstrip().startswith('<div id="results">')


def test_it_escapes_hostile_titles(client_for, waiting):
    feature = waiting.items.get().feature
    feature.title = HOSTILE
    feature.save(update_fields=["title"])
    waiting.failure_reason = HOSTILE
    waiting.save(update_fields=["failure_reason"])
    for url in (waiting.get_absolute_url(), reverse("promotion_list")):
        body = client_for("release_manager").get(url).content.decode()
        assert "<script>alert" not in body and "<img src=x" not in body
