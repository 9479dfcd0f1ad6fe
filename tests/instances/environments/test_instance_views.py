"""Instance pages: permissions, forms with inline errors, re-parenting, deletion, history."""

import pytest
from django.urls import reverse

from instances.models import Instance, OrgType, Purpose
from releasemgr.models import AuditEvent
from tests.personas import MANAGE, PERSONAS, READ

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("dashboard", READ),
        ("instance_list", READ),
        ("instance_detail", READ),
        ("instance_create", MANAGE),
        ("instance_edit", MANAGE),
        ("instance_reparent", MANAGE),
        ("instance_delete", MANAGE),
    ],
)
def test_it_enforces_the_permission_matrix(client_for, pipeline, persona, name, expected):
    args = [] if name in ("dashboard", "instance_list", "instance_create") else [pipeline["qa"].pk]
    response = client_for(persona).get(reverse(name, args=args))
    assert response.status_code == expected[persona]
    if expected[persona] == 302:
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("persona", ["developer", "outsider"])
def test_it_refuses_writes_from_those_who_may_only_read(client_for, pipeline, persona):
    qa = pipeline["qa"]
    client = client_for(persona)
    client.post(reverse("instance_edit", args=[qa.pk]), {"name": "Hacked"})
    client.post(reverse("instance_delete", args=[qa.pk]))
    client.post(reverse("instance_reparent", args=[qa.pk]), {"parent": ""})
    qa.refresh_from_db()
    assert qa.name == "QA" and qa.parent == pipeline["uat"]


def test_it_answers_404_for_an_unknown_instance(client_for, pipeline):
    response = client_for("developer").get(reverse("instance_detail", args=[999999]))
    assert response.status_code == 404


def test_it_shows_the_instance_with_its_place_in_the_hierarchy(client_for, pipeline):
    response = client_for("developer").get(reverse("instance_detail", args=[pipeline["qa"].pk]))
    body = response.content.decode()
    assert "UAT" in body and "Integration" in body and "Production" in body
    assert "<code>qa</code>" in body
    assert "No org connected" in body


def test_it_filters_the_list_by_repository_and_purpose(client_for, pipeline):
    client = client_for("developer")
    response = client.get(reverse("instance_list"), {"purpose": Purpose.DEVELOPMENT})
    names = [i.name for i in response.context["instances"]]
    assert names == ["Dev Alice", "Dev Bob", "Scratch CI"]
    response = client.get(
        reverse("instance_list"), {"repository": pipeline["repo"].pk, "q": "prod"}
    )
    assert [i.name for i in response.context["instances"]] == ["Production"]


def test_it_serves_only_the_results_fragment_to_htmx(client_for, pipeline):
    response = client_for("developer").get(
        reverse("instance_list"), {"purpose": "qa"}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="results">')
    assert "<html" not in body


def form_data(instance: Instance, **changes: object) -> dict[str, object]:
    data = {
        "name": instance.name,
        "purpose": instance.purpose,
        "org_type": instance.org_type,
        "repository": instance.repository_id,
        "branch": instance.branch,
        "parent": instance.parent_id or "",
        "description": instance.description,
    }
    data.update(changes)
    return data


def test_it_creates_an_instance_and_records_it(client_for, pipeline, release_manager):
    data = form_data(pipeline["alice"], name="Dev Carol", branch="dev/carol")
    response = client_for("release_manager").post(reverse("instance_create"), data)
    carol = Instance.objects.get(name="Dev Carol")
    assert response.status_code == 302 and response["Location"] == carol.get_absolute_url()
    assert carol.parent == pipeline["integration"]
    event = AuditEvent.for_object(carol).get()
    assert event.action == "created" and event.actor == release_manager


@pytest.mark.parametrize(
    ("branch", "message"),
    [
        ("bad..name", "A branch name cannot contain &#x27;..&#x27;."),
        ("-x", "A branch name cannot start with &#x27;-&#x27;."),
        ("has space", "A branch name cannot contain a space."),
        ("x.lock", "No part of a branch name can end with &#x27;.lock&#x27;"),
        ("x@{1}", "A branch name cannot contain &#x27;@{&#x27;."),
        ("line\nbreak", "A branch name cannot contain control characters"),
        ("trailing/", "A branch name cannot start or end with &#x27;/&#x27;."),
        ("trailing.", "A branch name cannot end with &#x27;.&#x27;."),
    ],
)
def test_it_refuses_bad_branch_names_inline(client_for, pipeline, branch, message):
    data = form_data(pipeline["alice"], name="New", branch=branch)
    response = client_for("release_manager").post(
        reverse("instance_create"), data, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert body.lstrip().startswith("<form")  # the form fragment, swapped in place
    assert not Instance.objects.filter(name="New").exists()


def test_it_shows_hierarchy_errors_in_the_form(client_for, pipeline):
    data = form_data(pipeline["prod"], parent=pipeline["uat"].pk)
    response = client_for("release_manager").post(
        reverse("instance_edit", args=[pipeline["prod"].pk]), data
    )
    assert "A production instance cannot have a parent." in response.content.decode()
    pipeline["prod"].refresh_from_db()
    assert pipeline["prod"].parent is None


def test_it_redirects_htmx_forms_with_a_client_redirect(client_for, pipeline):
    qa = pipeline["qa"]
    response = client_for("release_manager").post(
        reverse("instance_edit", args=[qa.pk]),
        form_data(qa, description="Regression testing"),
        headers={"HX-Request": "true"},
    )
    assert response["HX-Redirect"] == qa.get_absolute_url()


def test_it_reparents_and_records_from_where_to_where(client_for, pipeline, release_manager):
    bob = pipeline["bob"]
    response = client_for("release_manager").post(
        reverse("instance_reparent", args=[bob.pk]), {"parent": pipeline["qa"].pk}
    )
    assert response.status_code == 302
    bob.refresh_from_db()
    assert bob.parent == pipeline["qa"]
    event = AuditEvent.for_object(bob).get()
    assert event.action == "re-parented" and event.changes == {"parent": "QA"}


def test_it_refuses_a_reparenting_that_makes_a_cycle(client_for, pipeline):
    uat = pipeline["uat"]
    response = client_for("release_manager").post(
        reverse("instance_reparent", args=[uat.pk]), {"parent": pipeline["alice"].pk}
    )
    assert "would create a cycle" in response.content.decode()
    uat.refresh_from_db()
    assert uat.parent == pipeline["prod"]


def test_it_refuses_to_delete_an_instance_with_children(client_for, pipeline):
    integration = pipeline["integration"]
    response = client_for("release_manager").post(reverse("instance_delete", args=[integration.pk]))
    assert response.status_code == 409
    assert "Move them under another parent" in response.content.decode()
    assert Instance.objects.filter(pk=integration.pk).exists()


def test_it_deletes_a_leaf_instance(client_for, pipeline):
    scratch = pipeline["scratch"]
    response = client_for("release_manager").post(reverse("instance_delete", args=[scratch.pk]))
    assert response.status_code == 302
    assert not Instance.objects.filter(pk=scratch.pk).exists()
    assert AuditEvent.objects.filter(action="deleted", target_repr="Scratch CI").exists()


def test_it_prefills_a_child_of_an_instance(client_for, pipeline):
    response = client_for("release_manager").get(
        reverse("instance_create"), {"parent": pipeline["integration"].pk}
    )
    form = response.context["form"]
    assert form.initial["parent"] == pipeline["integration"]
    assert form.initial["repository"] == pipeline["repo"]


def test_it_escapes_hostile_names_in_pages(client_for, pipeline):
    hostile = '<script>alert("x")</script>'
    qa = pipeline["qa"]
    qa.name, qa.description = hostile, hostile
    qa.save()
    for url in (qa.get_absolute_url(), reverse("instance_list")):
        body = client_for("developer").get(url).content.decode()
        assert "<script>alert" not in body
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body


def test_it_offers_only_instances_of_the_same_storage_as_new_parents(client_for, pipeline):
    from tests.conftest import make_instance, make_repository

    stranger = make_instance(make_repository(), name="Stranger", org_type=OrgType.SANDBOX)
    response = client_for("release_manager").get(
        reverse("instance_reparent", args=[pipeline["bob"].pk])
    )
    choices = [str(c) for c in response.context["form"].fields["parent"].queryset]
    assert "Stranger" not in choices and "QA" in choices and "Dev Bob" not in choices
    assert stranger.pk


def test_it_offers_to_create_a_missing_environment_branch(client_for, git_pipeline):
    from branching.git import storage
    from tests.conftest import make_instance

    hotfix = make_instance(
        git_pipeline["repo"],
        name="Hotfix",
        purpose=Purpose.HOTFIX,
        branch="hotfix/main",
        parent=git_pipeline["uat"],
    )
    body = client_for("release_manager").get(hotfix.get_absolute_url()).content.decode()
    assert "does not exist in the repository yet" in body and "Create it from" in body
    assert (
        "Create it from"
        not in client_for("developer").get(hotfix.get_absolute_url()).content.decode()
    )
    assert (
        client_for("developer")
        .post(reverse("instance_create_branch", args=[hotfix.pk]))
        .status_code
        == 403
    )
    response = client_for("release_manager").post(
        reverse("instance_create_branch", args=[hotfix.pk])
    )
    assert response.status_code == 302
    with storage.open_repo(git_pipeline["repo"].local_path) as repo:
        assert storage.branch_head(repo, "hotfix/main") == storage.branch_head(repo, "uat")
    body = client_for("release_manager").get(hotfix.get_absolute_url()).content.decode()
    assert "does not exist in the repository yet" not in body
    assert AuditEvent.objects.filter(action="branch created", target_id=str(hotfix.pk)).exists()
    # A second press changes nothing and says why.
    response = client_for("release_manager").post(
        reverse("instance_create_branch", args=[hotfix.pk]), follow=True
    )
    assert "Could not create" in response.content.decode()
