"""The promotion request form: scopes, valid targets only, the dry run, and refusals as errors."""

import html

import pytest
from django.urls import reverse

from branching.models import Collection
from instances.models import Direction, Promotion, PromotionStatus
from releasemgr.models import Job
from tests.instances.promotions.helpers import (
    HOSTILE,
    INVOICE,
    commit_to,
    make_feature,
    promote,
    run_request_jobs,
    start,
)
from tests.personas import PERSONAS, READ

pytestmark = pytest.mark.django_db

REQUEST = READ
URL = reverse("promotion_create")


@pytest.fixture
def feature_a(git_pipeline, developer):
    """RM-1, in Dev Alice: ready to promote to Integration."""
    feature = start(git_pipeline, "RM-1", "Invoice totals", developer)
    commit_to(feature, {INVOICE: b"public class Invoice {\n  Decimal total;\n}\n"})
    promote([feature], git_pipeline["alice"], developer)
    return feature


@pytest.fixture
def rival(git_pipeline, feature_a, developer):
    """RM-3, in Dev Bob, changing the same lines as RM-1 (which is now in Integration)."""
    promote([feature_a], git_pipeline["integration"], developer)
    feature = start(git_pipeline, "RM-3", "Rival", developer, where="bob")
    commit_to(feature, {INVOICE: b"public class Invoice {\n  Integer count;\n}\n"})
    promote([feature], git_pipeline["bob"], developer)
    return feature


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("query", ["", "?feature=RM-1", "?target={qa}", "?collection={c}"])
def test_it_enforces_the_permission_matrix(client_for, pipeline, developer, persona, query):
    feature = make_feature(pipeline["repo"], "RM-1", developer)
    collection = Collection.objects.create(name="Spring")
    collection.features.add(feature)
    url = URL + query.format(qa=pipeline["qa"].pk, c=collection.pk)
    assert client_for(persona).get(url).status_code == REQUEST[persona]


@pytest.mark.parametrize("persona", ["anonymous", "outsider"])
def test_it_refuses_requests_from_those_without_a_role(
    client_for, git_pipeline, feature_a, persona
):
    before = Promotion.objects.count()
    client_for(persona).post(URL, {"features": ["RM-1"], "target": git_pipeline["integration"].pk})
    assert Promotion.objects.count() == before


@pytest.mark.parametrize(
    "query",
    ["?feature=RM-404", "?feature=RM-1&feature=RM-404", "?collection=999999", "?collection=x"]
    + ["?target=999999", "?target=-1"],
)
def test_it_answers_404_for_unknown_things(client_for, pipeline, query):
    assert client_for("developer").get(URL + query).status_code == 404


def test_it_asks_where_to_start_without_a_scope(client_for, pipeline):
    response = client_for("developer").get(URL)
    assert "scope_form" in response.context
    assert 'id="promotion-scope" method="get"' in response.content.decode()


def test_it_offers_only_the_targets_a_feature_can_reach(client_for, git_pipeline, feature_a):
    response = client_for("developer").get(URL, {"feature": "RM-1"})
    form = response.context["form"]
    choices = form.fields["target"].widget.choices
    assert choices[1:] == [
        (git_pipeline["alice"].pk, "Bring into Dev Alice (from the feature branch)"),
        (git_pipeline["integration"].pk, "Promote to Integration (from Dev Alice)"),
    ]
    assert form["features"].value() == ["RM-1"]


def test_it_offers_the_features_that_can_come_into_a_target(
    client_for, git_pipeline, feature_a, developer
):
    elsewhere = start(git_pipeline, "RM-2", "Not near", developer, where="scratch")
    response = client_for("developer").get(URL, {"target": git_pipeline["integration"].pk})
    form = response.context["form"]
    assert [key for key, _ in form.fields["features"].widget.choices] == ["RM-1"]
    assert elsewhere.key not in response.content.decode()
    assert form["target"].value() == git_pipeline["integration"].pk


def following(job: Job) -> str:
    return f"{URL}?feature=RM-1&target={job.params['target']}&job={job.pk}"


def test_it_requests_a_promotion_and_shows_it(client_for, git_pipeline, feature_a):
    integration = git_pipeline["integration"]
    client = client_for("developer")
    response = client.post(URL + "?feature=RM-1", {"features": ["RM-1"], "target": integration.pk})
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == following(job)
    assert not Promotion.objects.filter(target=integration).exists()  # the dry run: a worker
    assert run_request_jobs() == ["succeeded"]
    promotion = Promotion.objects.get(target=integration)
    page = client.get(response["Location"]).content.decode()
    assert promotion.get_absolute_url() in page
    assert promotion.direction == Direction.FORWARD and promotion.source == git_pipeline["alice"]
    assert promotion.status == PromotionStatus.QUEUED
    assert [i.feature.key for i in promotion.items.all()] == ["RM-1"]


def test_it_says_when_the_target_waits_for_approval(client_for, git_pipeline, feature_a):
    integration = git_pipeline["integration"]
    integration.requires_approval = True
    integration.save()
    client = client_for("developer")
    response = client.post(URL, {"features": ["RM-1"], "target": integration.pk})
    run_request_jobs()
    poll = client.get(
        response["Location"], headers={"HX-Request": "true", "HX-Target": "dry-run-status"}
    )
    promotion = Promotion.objects.get(target=integration)
    assert poll["HX-Redirect"] == promotion.get_absolute_url()
    assert "it waits for approval" in client.get(poll["HX-Redirect"]).content.decode()
    assert promotion.status == PromotionStatus.AWAITING_APPROVAL


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("qa", "RM-1 is not in Integration or its parent UAT"),
        ("prod", "RM-1 is not in UAT"),
    ],
)
def test_it_refuses_a_target_that_is_not_a_neighbour(
    client_for, git_pipeline, feature_a, target, message
):
    before = Promotion.objects.count()
    response = client_for("developer").post(
        URL, {"features": ["RM-1"], "target": git_pipeline[target].pk}
    )
    assert response.status_code == 200
    assert message in response.context["form"].errors["target"][0]
    assert Promotion.objects.count() == before


def test_it_refuses_a_feature_already_in_the_target(client_for, git_pipeline, feature_a, developer):
    promote([feature_a], git_pipeline["integration"], developer)
    response = client_for("developer").post(
        URL, {"features": ["RM-1"], "target": git_pipeline["integration"].pk}
    )
    assert "RM-1 is already in Integration" in response.context["form"].errors["target"][0]


def test_it_refuses_an_unknown_feature_key_in_the_form(client_for, git_pipeline, feature_a):
    response = client_for("developer").post(
        URL, {"features": ["RM-404"], "target": git_pipeline["integration"].pk}
    )
    assert response.status_code == 200 and response.context["form"].errors["features"]


def test_it_shows_the_dry_run_conflicts_and_asks_before_queueing(client_for, git_pipeline, rival):
    integration = git_pipeline["integration"]
    client = client_for("developer")
    before = Promotion.objects.count()
    response = client.post(URL + "?feature=RM-3", {"features": ["RM-3"], "target": integration.pk})
    assert response.status_code == 302
    assert run_request_jobs() == ["succeeded"]
    poll = client.get(
        response["Location"], headers={"HX-Request": "true", "HX-Target": "dry-run-status"}
    )
    assert poll["HX-Refresh"] == "true"  # the page shows the answer with the form
    response = client.get(response["Location"])
    assert response.status_code == 200
    form = response.context["form"]
    assert form.conflicts == {"RM-3": [INVOICE]}
    body = html.unescape(response.content.decode())
    assert f"<code>{INVOICE}</code>" in body
    assert "Queue it anyway and resolve on the promotion page" in body
    assert 'name="queue_anyway" required' in body
    assert Promotion.objects.count() == before

    response = client.post(
        URL + "?feature=RM-3",
        {"features": ["RM-3"], "target": integration.pk, "queue_anyway": "on"},
    )
    promotion = Promotion.objects.get(target=integration, items__feature=rival)
    assert response["Location"] == promotion.get_absolute_url()


def test_it_promotes_a_collection(client_for, git_pipeline, feature_a, developer):
    second = start(git_pipeline, "RM-2", "Second", developer)
    promote([second], git_pipeline["alice"], developer)
    release = Collection.objects.create(name="Spring")
    release.features.add(feature_a, second)
    client = client_for("developer")
    form = client.get(URL, {"collection": release.pk}).context["form"]
    assert sorted(form["features"].value()) == ["RM-1", "RM-2"]
    assert form.fields["target"].widget.choices[1:] == [
        (git_pipeline["alice"].pk, "Bring into Dev Alice (from the feature branch)"),
        (git_pipeline["integration"].pk, "Promote to Integration (from Dev Alice)"),
    ]
    response = client.post(
        URL + f"?collection={release.pk}",
        {
            "features": ["RM-1", "RM-2"],
            "target": git_pipeline["integration"].pk,
            "collection": release.pk,
        },
    )
    assert f"collection={release.pk}" in response["Location"]
    run_request_jobs()
    promotion = Promotion.objects.get(target=git_pipeline["integration"])
    assert promotion.collection == release
    assert [i.feature.key for i in promotion.items.all()] == ["RM-1", "RM-2"]


def test_it_answers_htmx_with_the_form_partial_and_a_client_redirect(
    client_for, git_pipeline, feature_a
):
    client = client_for("developer")
    bad = client.post(
        URL + "?feature=RM-1",
        {"features": ["RM-1"], "target": git_pipeline["qa"].pk},
        headers={"HX-Request": "true"},
    )
    assert bad.content.decode().lstrip().startswith('<form id="promotion-form"')
    good = client.post(
        URL + "?feature=RM-1",
        {"features": ["RM-1"], "target": git_pipeline["integration"].pk},
        headers={"HX-Request": "true"},
    )
    assert good["HX-Redirect"] == following(Job.objects.get())
    queued = client.get(
        good["HX-Redirect"], headers={"HX-Request": "true", "HX-Target": "dry-run-status"}
    )
    assert queued.status_code == 200
    assert queued.content.decode().lstrip().startswith('<div class="card dry-run"')
    assert 'hx-trigger="every 1s"' in queued.content.decode()
    run_request_jobs()
    done = client.get(
        good["HX-Redirect"], headers={"HX-Request": "true", "HX-Target": "dry-run-status"}
    )
    promotion = Promotion.objects.get(target=git_pipeline["integration"])
    assert done["HX-Redirect"] == promotion.get_absolute_url()


def test_it_promotes_with_one_click_from_the_instance_page(client_for, git_pipeline, feature_a):
    alice, integration = git_pipeline["alice"], git_pipeline["integration"]
    client = client_for("developer")
    page = client.get(alice.get_absolute_url()).content.decode()
    action = f"{URL}?feature=RM-1&amp;target={integration.pk}"
    assert f'action="{action}"' in page
    response = client.post(html.unescape(action), {"features": "RM-1", "target": integration.pk})
    assert response["Location"] == following(Job.objects.get())
    run_request_jobs()
    promotion = Promotion.objects.get(target=integration)
    page = client.get(alice.get_absolute_url()).content.decode()
    assert f"on its way: #{promotion.pk}" in page


def test_it_escapes_hostile_titles(client_for, pipeline, developer):
    make_feature(pipeline["repo"], "RM-1", developer, title=HOSTILE)
    body = client_for("developer").get(URL, {"feature": "RM-1"}).content.decode()
    assert "<script>alert" not in body and "<img src=x" not in body
