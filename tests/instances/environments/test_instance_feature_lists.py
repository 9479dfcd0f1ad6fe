"""The instance page's feature lists: here, ready to promote, pending back promotion, and the
one-click buttons that request each move."""

import html
import re

import pytest
from django.urls import reverse

from instances.models import PromotionStatus
from tests.instances.promotions.helpers import HOSTILE, make_feature, make_promotion, place

pytestmark = pytest.mark.django_db


@pytest.fixture
def spread(pipeline, developer):
    repo = pipeline["repo"]
    alice, integration = pipeline["alice"], pipeline["integration"]
    features = {
        "RM-1": make_feature(repo, "RM-1", developer, title="Everywhere below QA"),
        "RM-2": make_feature(repo, "RM-2", developer, title="Only in Alice"),
        "RM-3": make_feature(repo, "RM-3", developer, title="Came from Bob"),
        "RM-4": make_feature(repo, "RM-4", developer, title="Not in yet", started_from=alice),
        "RM-5": make_feature(repo, "RM-5", developer, title="On its way up"),
    }
    place(features["RM-1"], alice, integration)
    place(features["RM-2"], alice)
    place(features["RM-3"], integration)
    place(features["RM-5"], alice)
    moving = make_promotion(integration, [features["RM-5"]], developer, source=alice)
    return features, moving


def section(body: str, section_id: str) -> str:
    match = re.search(rf'<section class="card" id="{section_id}">(.*?)</section>', body, re.S)
    assert match, f"no section {section_id}"
    return html.unescape(match.group(1))


def action(key: str, target) -> str:
    return f'action="{reverse("promotion_create")}?feature={key}&target={target.pk}"'


def test_it_lists_what_is_here_what_can_go_up_and_what_can_come_back(client_for, pipeline, spread):
    _, moving = spread
    alice, integration = pipeline["alice"], pipeline["integration"]
    body = client_for("developer").get(alice.get_absolute_url()).content.decode()

    here = section(body, "features-here")
    assert "(3)" in here
    for key in ("RM-1", "RM-2", "RM-5"):
        assert f">{key}</a>" in here
    assert "Started here, not brought in yet" in here and action("RM-4", alice) in here
    assert f"{reverse('feature_create')}?instance={alice.pk}" in here

    up = section(body, "ready-to-promote")
    assert "Ready to promote to Integration" in up and "(2)" in up
    assert action("RM-2", integration) in up and ">Promote</button>" in up
    assert "RM-1" not in up  # already in Integration
    assert f"on its way: #{moving.pk}" in up and action("RM-5", integration) not in up

    back = section(body, "pending-back-promotion")
    assert action("RM-3", alice) in back and ">Back promote</button>" in back

    recent = section(body, "promotions")
    assert moving.get_absolute_url() in recent


def test_it_shows_no_promote_list_for_a_root(client_for, pipeline, spread):
    body = client_for("developer").get(pipeline["prod"].get_absolute_url()).content.decode()
    assert 'id="ready-to-promote"' not in body and 'id="pending-back-promotion"' not in body


def test_it_hides_the_buttons_from_a_finished_promotion(client_for, pipeline, spread):
    _, moving = spread
    moving.status = PromotionStatus.FAILED
    moving.save(update_fields=["status"])
    body = client_for("developer").get(pipeline["alice"].get_absolute_url()).content.decode()
    assert action("RM-5", pipeline["integration"]) in html.unescape(body)


def test_it_escapes_hostile_titles(client_for, pipeline, developer):
    feature = make_feature(pipeline["repo"], "RM-1", developer, title=HOSTILE)
    place(feature, pipeline["alice"])
    body = client_for("developer").get(pipeline["alice"].get_absolute_url()).content.decode()
    assert "<script>alert" not in body and "<img src=x" not in body
    assert "&lt;script&gt;" in body
