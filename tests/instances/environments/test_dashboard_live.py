"""The dashboard's live states: on every node, in the "needs attention" list, refreshed by a
poll that backs off while nothing changes, and never laid out again for a state change."""

import re
import shutil
import xml.etree.ElementTree as ET

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from instances.environments import diagram
from instances.environments.live import Ref, pipeline_states
from instances.models import Promotion, PromotionStatus, Step
from tests.conftest import make_instance
from tests.instances.promotions.helpers import HOSTILE, make_feature, make_promotion

pytestmark = pytest.mark.django_db

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()


def node(body: str, instance) -> ET.Element:
    svg = ET.fromstring(re.search(r"<svg.*?</svg>", body, re.S).group(0))
    return next(g for g in svg.iter(f"{SVG}g") if g.get("id") == f"instance-{instance.pk}")


def node_text(body: str, instance) -> str:
    return " ".join(t.text or "" for t in node(body, instance).iter(f"{SVG}text"))


def finish(promotion: Promotion, status: str, minutes_ago: int) -> None:
    when = timezone.now() - timezone.timedelta(minutes=minutes_ago)
    Promotion.objects.filter(pk=promotion.pk).update(status=status, finished_at=when)


@pytest.fixture
def lively(pipeline, developer):
    """Running into QA (merging), queued and awaiting approval into UAT, the latest into
    Integration conflicted, the latest into Dev Bob failed after an earlier success."""
    p = pipeline
    feature = make_feature(p["repo"], "RM-1", developer)
    running = make_promotion(
        p["qa"], [feature], developer, source=p["integration"], status=PromotionStatus.RUNNING
    )
    Promotion.objects.filter(pk=running.pk).update(step=Step.TEMP_BRANCH)
    make_promotion(p["uat"], [feature], developer, source=p["qa"])
    waiting = make_promotion(
        p["uat"], [feature], developer, source=p["qa"], status=PromotionStatus.AWAITING_APPROVAL
    )
    finish(
        make_promotion(p["integration"], [feature], developer, source=p["alice"]), "succeeded", 60
    )
    conflicted = make_promotion(p["integration"], [feature], developer, source=p["alice"])
    finish(conflicted, PromotionStatus.CONFLICTED, 5)
    failed = make_promotion(p["bob"], [feature], developer, source=p["integration"])
    finish(failed, PromotionStatus.FAILED, 10)
    # A failure followed by a success is no longer anything to look at.
    old = make_promotion(p["alice"], [feature], developer)
    finish(old, PromotionStatus.FAILED, 30)
    finish(make_promotion(p["alice"], [feature], developer), PromotionStatus.SUCCEEDED, 20)
    return {**p, "running": running, "waiting": waiting, "conflicted": conflicted, "failed": failed}


@needs_dot
def test_it_shows_what_happens_on_each_node(client_for, lively):
    p = lively
    body = client_for("developer").get(reverse("dashboard")).content.decode()
    assert f"▶ #{p['running'].pk} merging" in node_text(body, p["qa"])
    assert "1 queued · 1 awaiting approval" in node_text(body, p["uat"])
    assert f"✖ #{p['conflicted'].pk} conflicted" in node_text(body, p["integration"])
    assert f"✖ #{p['failed'].pk} failed" in node_text(body, p["bob"])
    assert "✖" not in node_text(body, p["alice"])
    assert "state-running" in node(body, p["qa"]).get("class")
    assert "state-approval" in node(body, p["uat"]).get("class")
    assert "state-conflicted" in node(body, p["integration"]).get("class")
    assert node(body, p["alice"]).get("class").split() == ["node", "node-development"]


def test_it_lists_what_needs_attention_with_links(client_for, lively):
    p = lively
    body = client_for("release_manager").get(reverse("dashboard")).content.decode()
    attention = re.search(r'<section class="card attention".*?</section>', body, re.S).group(0)
    for key in ("running", "waiting", "conflicted", "failed"):
        assert f'href="/promotions/{p[key].pk}/"' in attention
    assert "awaits approval into" in attention and "conflicted into" in attention


@needs_dot
def test_a_state_change_does_not_lay_the_pipeline_out_again(client_for, lively, monkeypatch):
    runs = []
    real = diagram._run_dot
    monkeypatch.setattr(diagram, "_run_dot", lambda source: runs.append(1) or real(source))
    client = client_for("developer")
    first = client.get(reverse("dashboard")).content.decode()
    Promotion.objects.filter(pk=lively["running"].pk).update(step=Step.MERGED)
    second = client.get(reverse("dashboard")).content.decode()
    assert len(runs) == 1
    assert "merging" in node_text(first, lively["qa"])
    assert "deploying" in node_text(second, lively["qa"])
    make_instance(
        lively["repo"], name="Dev Carol", branch="dev/carol", parent=lively["integration"]
    )
    client.get(reverse("dashboard"))
    assert len(runs) == 2  # the hierarchy changed: laid out anew


def fingerprint(body: str) -> str:
    return re.search(r"\?live=([0-9a-f]+)&amp;wait=", body).group(1)


def test_the_poll_backs_off_while_nothing_changes(client_for, lively):
    client = client_for("developer")
    page = client.get(reverse("dashboard")).content.decode()
    assert 'hx-trigger="load delay:3s"' in page
    live = fingerprint(page)
    quiet = client.get(reverse("dashboard"), {"live": live, "wait": 3}, HTTP_HX_REQUEST="true")
    body = quiet.content.decode()
    assert 'hx-trigger="load delay:6s"' in body
    assert "hx-swap-oob" not in body and "<svg" not in body  # nothing to swap
    slow = client.get(reverse("dashboard"), {"live": live, "wait": 40}, HTTP_HX_REQUEST="true")
    assert 'hx-trigger="load delay:60s"' in slow.content.decode()  # never slower than a minute


def test_the_poll_brings_the_change_out_of_band(client_for, lively):
    client = client_for("developer")
    live = fingerprint(client.get(reverse("dashboard")).content.decode())
    finish(lively["running"], PromotionStatus.SUCCEEDED, 0)
    changed = client.get(
        reverse("dashboard"), {"live": live, "wait": 48}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'hx-trigger="load delay:3s"' in changed
    assert fingerprint(changed) != live
    assert f'id="diagram-{lively["repo"].pk}" hx-swap-oob="true"' in changed
    assert 'id="attention" aria-labelledby="attention-title" hx-swap-oob="true"' in changed


@pytest.mark.parametrize("wait", ["abc", "-5", "99999999999999999999", ""])
def test_the_poll_takes_any_wait_without_error(client_for, lively, wait):
    response = client_for("developer").get(
        reverse("dashboard"), {"live": "0" * 16, "wait": wait}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    delay = int(re.search(r"load delay:(\d+)s", response.content.decode()).group(1))
    assert 3 <= delay <= 60


@needs_dot
def test_it_escapes_hostile_names_in_the_live_parts(client_for, lively):
    lively["integration"].name = HOSTILE
    lively["integration"].save(update_fields=["name"])
    body = client_for("developer").get(reverse("dashboard")).content.decode()
    assert "<script>alert" not in body and "<img src=x" not in body
    node(body, lively["integration"])  # the SVG still parses


def test_it_reads_the_same_number_of_queries_however_busy(client_for, lively, developer):
    client = client_for("developer")

    def queries() -> int:
        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            client.get(reverse("dashboard"))
        return len(ctx.captured_queries)

    before = queries()
    feature = make_feature(lively["repo"], "RM-9", developer)
    for n in range(25):
        instance = make_instance(lively["repo"], parent=lively["integration"])
        finish(make_promotion(instance, [feature], developer), PromotionStatus.FAILED, n)
        make_promotion(instance, [feature], developer, status=PromotionStatus.AWAITING_APPROVAL)
    assert queries() == before


@needs_dot
def test_it_marks_a_frozen_instance_on_its_node(client_for, lively, release_manager):
    from instances.environments import windows

    windows.freeze(lively["prod"], release_manager, "Quarter close")
    body = client_for("developer").get(reverse("dashboard")).content.decode()
    assert "❄ frozen" in node_text(body, lively["prod"])
    assert "state-frozen" in node(body, lively["prod"]).get("class")
    assert "frozen" not in node_text(body, lively["uat"])


def ended(target, features, user, status, minutes_ago, source=None) -> Promotion:
    promotion = make_promotion(target, features, user, source=source)
    finish(promotion, status, minutes_ago)
    return promotion


@pytest.fixture
def overlooked(pipeline, developer):
    """Into Integration: RM-1 conflicted, then RM-2 and RM-3 went in fine after it; RM-4
    failed earlier still. Into Dev Bob: RM-1 failed, then was asked for again and succeeded."""
    p, me, S = pipeline, developer, PromotionStatus
    rm1, rm2, rm3, rm4 = (make_feature(p["repo"], f"RM-{n}", me) for n in (1, 2, 3, 4))
    failed = ended(p["integration"], [rm4], me, S.FAILED, 50, source=p["alice"])
    conflicted = ended(p["integration"], [rm1], me, S.CONFLICTED, 40, source=p["alice"])
    ended(p["integration"], [rm2, rm3], me, S.SUCCEEDED, 30, source=p["bob"])
    ended(p["bob"], [rm1], me, S.FAILED, 20, source=p["integration"])
    ended(p["bob"], [rm1, rm2], me, S.SUCCEEDED, 10, source=p["integration"])
    return {**p, "features": (rm1, rm2, rm3, rm4), "failed": failed, "conflicted": conflicted}


def test_a_later_success_of_other_features_does_not_hide_a_failure(overlooked):
    p = overlooked
    states = pipeline_states([p["integration"].pk, p["bob"].pk])
    integration = states.of(p["integration"].pk)
    assert integration.problem == Ref(p["conflicted"].pk, PromotionStatus.CONFLICTED)
    assert integration.problems == 2  # the conflict, and the failure before it
    assert f"✖ #{p['conflicted'].pk} conflicted +1 more" in integration.attention
    # Asked for again with the same features (and more), and through: nothing left there.
    assert states.of(p["bob"].pk).problem is None
    assert states.of(p["bob"].pk).problems == 0


def test_the_attention_list_links_the_latest_problem_with_the_count(client_for, overlooked):
    p = overlooked
    body = client_for("release_manager").get(reverse("dashboard")).content.decode()
    attention = re.search(r'<section class="card attention".*?</section>', body, re.S).group(0)
    assert f'href="/promotions/{p["conflicted"].pk}/"' in attention
    assert "(the latest of 2 unresolved there)" in attention
    assert f'href="/promotions/{p["failed"].pk}/"' not in attention  # one line per instance


def test_a_retried_promotion_is_no_longer_a_problem(overlooked):
    p = overlooked
    Promotion.objects.filter(pk=p["conflicted"].pk).update(
        status=PromotionStatus.QUEUED, finished_at=None
    )
    integration = pipeline_states([p["integration"].pk]).of(p["integration"].pk)
    assert integration.problem == Ref(p["failed"].pk, PromotionStatus.FAILED)
    assert integration.problems == 1
    assert integration.queued == 1


def test_a_cancelled_or_partial_request_does_not_take_over(overlooked, developer):
    p = overlooked
    rm1, rm2, _, _ = p["features"]
    ended(p["integration"], [rm1], developer, PromotionStatus.CANCELLED, 5, source=p["alice"])
    # RM-4 failed alone; a rejected request of RM-1 and RM-2 takes over nothing either.
    ended(p["integration"], [rm1, rm2], developer, PromotionStatus.REJECTED, 4, source=p["alice"])
    assert pipeline_states([p["integration"].pk]).of(p["integration"].pk).problems == 2
    # A new request of RM-1 that failed again takes over the old conflict: one problem each.
    again = ended(p["integration"], [rm1], developer, PromotionStatus.FAILED, 1, source=p["alice"])
    integration = pipeline_states([p["integration"].pk]).of(p["integration"].pk)
    assert integration.problem == Ref(again.pk, PromotionStatus.FAILED)
    assert integration.problems == 2


@pytest.mark.parametrize("size", [3, 30])
def test_unresolved_problems_cost_the_same_queries_at_any_size(pipeline, developer, size):
    def queries(ids) -> int:
        with CaptureQueriesContext(connection) as ctx:
            pipeline_states(ids)
        return len(ctx.captured_queries)

    feature = make_feature(pipeline["repo"], "RM-1", developer)
    empty = queries([pipeline["integration"].pk])
    instances = [
        make_instance(pipeline["repo"], parent=pipeline["integration"]) for _ in range(size)
    ]
    for n, instance in enumerate(instances):
        for minutes in range(3):
            other = make_feature(pipeline["repo"], f"RM-{n}-{minutes}", developer)
            ended(instance, [other], developer, PromotionStatus.FAILED, minutes)
        ended(instance, [feature], developer, PromotionStatus.SUCCEEDED, 0)
    ids = [i.pk for i in instances]
    assert queries(ids) == empty == 5
    states = pipeline_states(ids)
    assert all(states.of(pk).problems == 3 for pk in ids)
