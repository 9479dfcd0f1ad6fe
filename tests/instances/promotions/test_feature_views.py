"""Feature pages: permissions, starting a feature, where it is (present, absent, stale)."""

import html
import re

import pytest
from django.urls import reverse

from branching.git import storage
from branching.models import Feature
from instances.models import PromotionStatus
from releasemgr.models import AuditEvent
from tests.conftest import make_user
from tests.instances.promotions.helpers import (
    HOSTILE,
    INVOICE,
    commit_to,
    head,
    make_feature,
    place,
    promote,
    start,
)
from tests.personas import PERSONAS, READ

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", ["feature_list", "feature_create", "feature_detail"])
def test_it_enforces_the_permission_matrix(client_for, pipeline, developer, persona, name):
    feature = make_feature(pipeline["repo"], "RM-1", developer, started_from=pipeline["alice"])
    args = [feature.key] if name == "feature_detail" else []
    response = client_for(persona).get(reverse(name, args=args))
    assert response.status_code == READ[persona]
    if response.status_code == 302:
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("persona", ["anonymous", "outsider"])
def test_it_refuses_to_start_a_feature_for_those_without_a_role(client_for, git_pipeline, persona):
    client_for(persona).post(
        reverse("feature_create"),
        {"instance": git_pipeline["alice"].pk, "key": "RM-9", "title": "Sneaky"},
    )
    assert not Feature.objects.exists()


def test_it_answers_404_for_an_unknown_key(client_for, db):
    assert client_for("developer").get(reverse("feature_detail", args=["RM-404"])).status_code == (
        404
    )


@pytest.mark.parametrize("persona", ["developer", "release_manager"])
def test_it_starts_a_feature_from_an_instance(client_for, git_pipeline, personas, persona):
    alice = git_pipeline["alice"]
    client = client_for(persona)
    form = client.get(reverse("feature_create"), {"instance": alice.pk})
    assert form.context["form"]["instance"].value() == alice.pk
    response = client.post(
        reverse("feature_create") + f"?instance={alice.pk}",
        {"instance": alice.pk, "key": "RM-42", "title": "Invoice totals", "attach_branch": ""},
    )
    feature = Feature.objects.get(key="RM-42")
    assert response.status_code == 302 and response["Location"] == feature.get_absolute_url()
    assert feature.branch == "feature/RM-42-invoice-totals"
    assert feature.owner == personas[persona] and feature.started_from == alice
    assert feature.base_commit == head(git_pipeline["prod"])  # cut from main
    with storage.open_repo(feature.repository.local_path) as repo:
        assert storage.branch_head(repo, feature.branch) is not None
    assert AuditEvent.for_object(feature).get().action == "started"


def test_it_attaches_an_existing_branch(client_for, git_pipeline):
    repository = git_pipeline["repo"]
    with storage.open_repo(repository.local_path) as repo:
        main = storage.branch_head(repo, "main")
        storage.create_branch(repo, "spike/tax", main)
    response = client_for("developer").post(
        reverse("feature_create"),
        {
            "instance": git_pipeline["bob"].pk,
            "key": "RM-43",
            "title": "Tax",
            "attach_branch": "spike/tax",
        },
    )
    assert response.status_code == 302
    assert Feature.objects.get(key="RM-43").branch == "spike/tax"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"key": "not a key"}, "A feature key is a project code"),
        ({"attach_branch": "no..dots"}, "cannot contain '..'"),
        ({"attach_branch": "missing/branch"}, "There is no branch “missing/branch” to attach."),
        ({"instance": "999999"}, "Select a valid choice"),
    ],
)
def test_it_refuses_bad_input_with_a_message(client_for, git_pipeline, fields, message):
    data = {"instance": git_pipeline["alice"].pk, "key": "RM-5", "title": "T", **fields}
    response = client_for("developer").post(reverse("feature_create"), data)
    assert response.status_code == 200
    assert message in html.unescape(response.content.decode())
    assert not Feature.objects.exists()


def test_it_refuses_a_duplicate_key_as_a_form_error(client_for, git_pipeline, developer):
    start(git_pipeline, "RM-5", "First", developer)
    response = client_for("developer").post(
        reverse("feature_create"),
        {"instance": git_pipeline["alice"].pk, "key": "RM-5", "title": "Second"},
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert Feature.objects.count() == 1


def test_it_answers_htmx_with_the_form_partial(client_for, git_pipeline):
    response = client_for("developer").post(
        reverse("feature_create"),
        {"instance": git_pipeline["alice"].pk, "key": "bad", "title": "T"},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<form id="feature-form"') and "<html" not in body


def test_it_shows_present_absent_and_stale_per_instance(client_for, git_pipeline, developer):
    p = git_pipeline
    feature = start(p, "RM-1", "Invoice totals", developer)
    commit_to(feature, {INVOICE: b"public class Invoice {\n  Decimal total;\n}\n"})
    promote([feature], p["alice"], developer)
    promote([feature], p["integration"], developer)
    client = client_for("developer")

    body = client.get(feature.get_absolute_url()).content.decode()
    for key in ("alice", "integration"):
        assert re.search(rf'id="presence-{p[key].pk}" class="presence-present"', body)
    for key in ("bob", "qa", "uat", "prod", "scratch"):
        assert re.search(rf'id="presence-{p[key].pk}" class="presence-absent"', body)

    newer = commit_to(feature, {"force-app/later.txt": b"later\n"})
    body = client.get(feature.get_absolute_url()).content.decode()
    assert re.search(rf'id="presence-{p["alice"].pk}" class="presence-stale"', body)
    assert newer[:10] in body  # the branch head


def test_it_shows_how_to_get_the_code_and_where_it_can_go(client_for, git_pipeline, developer):
    p = git_pipeline
    feature = start(p, "RM-1", "Invoice totals", developer)
    response = client_for("developer").get(feature.get_absolute_url())
    body = response.content.decode()
    url = "http://127.0.0.1:8000/git/acme.git"  # releasemgr's own git service, at SITE_URL
    assert response.context["checkout"] == (
        f"git clone {url} acme && cd acme && git checkout feature/RM-1-invoice-totals"
    )
    assert url in body and "git checkout feature/RM-1-invoice-totals" in body
    path = str(p["repo"].local_path)
    assert path not in body  # the path on the server is for admins
    assert path in client_for("admin").get(feature.get_absolute_url()).content.decode()
    # Started from Dev Alice, not there yet: the one place it can go is into Dev Alice.
    assert [t.name for t, _ in response.context["targets"]] == ["Dev Alice"]
    assert "Bring into Dev Alice (from the feature branch)" in body

    promote([feature], p["alice"], developer)
    targets = client_for("developer").get(feature.get_absolute_url()).context["targets"]
    assert ("Integration", "Promote to Integration (from Dev Alice)") in [
        (t.name, label) for t, label in targets
    ]


def test_it_lists_the_promotions_of_the_feature(client_for, git_pipeline, developer):
    feature = start(git_pipeline, "RM-1", "Invoice totals", developer)
    done = promote([feature], git_pipeline["alice"], developer)
    body = client_for("developer").get(feature.get_absolute_url()).content.decode()
    assert done.get_absolute_url() in body
    assert PromotionStatus.SUCCEEDED.label in body


def test_it_filters_the_list(client_for, pipeline, developer):
    other = make_user("dora-dev", "Developers")
    mine = make_feature(pipeline["repo"], "RM-1", developer, title="Invoice totals")
    theirs = make_feature(pipeline["repo"], "RM-2", other, title="Tax rules")
    place(theirs, pipeline["qa"])
    client = client_for("developer")

    def keys(**query: object) -> list[str]:
        page = client.get(reverse("feature_list"), query).context["page"]
        return [f.key for f in page]

    assert keys() == ["RM-2", "RM-1"]
    assert keys(owner="mine") == ["RM-1"]
    assert keys(instance=pipeline["qa"].pk) == ["RM-2"]
    assert keys(q="invoice") == ["RM-1"]
    assert keys(q="rm-2") == ["RM-2"]
    assert keys(repository=pipeline["repo"].pk) == ["RM-2", "RM-1"]
    assert mine.get_absolute_url() in client.get(reverse("feature_list")).content.decode()
    partial = client.get(reverse("feature_list"), {"q": "tax"}, headers={"HX-Request": "true"})
    assert partial.content.decode().lstrip().startswith('<div id="results">')


def test_it_escapes_hostile_titles(client_for, git_pipeline, developer):
    feature = start(git_pipeline, "RM-1", HOSTILE, developer)
    for url in (feature.get_absolute_url(), reverse("feature_list")):
        body = client_for("developer").get(url).content.decode()
        assert "<script>alert" not in body and "<img src=x" not in body
        assert "&lt;script&gt;alert" in body
