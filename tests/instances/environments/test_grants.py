"""Per-instance grants: the permission matrix of every instance page with grants in place,
and a developer kept out of Production who cannot find it anywhere."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from instances.environments.permissions import (
    allows,
    capabilities_on,
    instances_allowing,
    visible_instances,
)
from instances.models import Capability, InstanceGrant
from instances.promotions.errors import PromotionError
from instances.promotions.rules import request_promotion
from releasemgr.roles import RELEASE_MANAGERS
from tests.conftest import make_user
from tests.instances.promotions.helpers import make_feature, make_promotion, place

pytestmark = pytest.mark.django_db

PERSONAS = ["anonymous", "outsider", "developer", "release_manager", "admin"]


def grant(instance, capability, *, user=None, group=None):
    return InstanceGrant.objects.create(
        instance=instance, capability=capability, user=user, group=group
    )


@pytest.fixture
def prod_for_rms(pipeline):
    """Production seen only by release managers (one view grant to their group)."""
    grant(pipeline["prod"], Capability.VIEW, group=Group.objects.get(name=RELEASE_MANAGERS))
    return pipeline


# Every instance page, for an instance whose view grant excludes developers.
HIDDEN = {"anonymous": 302, "outsider": 403, "developer": 404, "release_manager": 200, "admin": 200}
HIDDEN_MANAGE = {
    "anonymous": 302,
    "outsider": 403,
    "developer": 404,
    "release_manager": 200,
    "admin": 200,
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("instance_detail", HIDDEN),
        ("instance_access", HIDDEN),
        ("instance_windows", HIDDEN),
        ("instance_edit", HIDDEN_MANAGE),
        ("instance_reparent", HIDDEN_MANAGE),
        ("instance_delete", HIDDEN_MANAGE),
        ("org_connection_create", HIDDEN_MANAGE),
    ],
)
def test_it_enforces_the_matrix_on_a_hidden_instance(
    client_for, prod_for_rms, persona, name, expected
):
    response = client_for(persona).get(reverse(name, args=[prod_for_rms["prod"].pk]))
    assert response.status_code == expected[persona]


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_enforces_the_matrix_on_a_promotion_into_a_hidden_instance(
    client_for, prod_for_rms, personas, persona
):
    feature = make_feature(prod_for_rms["repo"], "RM-9", personas["admin"])
    promotion = make_promotion(
        prod_for_rms["prod"], [feature], personas["admin"], source=prod_for_rms["uat"]
    )
    response = client_for(persona).get(reverse("promotion_detail", args=[promotion.pk]))
    assert response.status_code == HIDDEN[persona]


def test_the_deploy_page_of_a_hidden_instance_is_not_found(client_for, prod_for_rms):
    url = reverse("deployment_create", args=[prod_for_rms["prod"].pk])
    assert client_for("developer").get(url).status_code == 404


def test_a_developer_without_a_grant_cannot_see_production_anywhere(
    client_for, prod_for_rms, developer, release_manager
):
    pipeline = prod_for_rms
    prod = pipeline["prod"]
    prod.name = "Acme Live"  # a name no legend or label uses
    prod.save(update_fields=["name"])
    feature = make_feature(pipeline["repo"], "RM-7", developer)
    place(
        feature,
        pipeline["alice"],
        pipeline["integration"],
        pipeline["qa"],
        pipeline["uat"],
        pipeline["prod"],
    )
    promotion = make_promotion(pipeline["prod"], [feature], release_manager, source=pipeline["uat"])
    client = client_for("developer")
    pages = [
        reverse("dashboard"),
        reverse("instance_list"),
        reverse("instance_detail", args=[pipeline["uat"].pk]),
        reverse("feature_list"),
        reverse("feature_detail", args=["RM-7"]),
        reverse("promotion_list"),
        reverse("promotion_create") + "?feature=RM-7",
        reverse("metrics"),
        reverse("metrics_csv"),
        reverse("subscription_list"),
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert "Acme Live" not in body, url
        assert f"/instances/{prod.pk}/" not in body, url
        assert f"/promotions/{promotion.pk}/" not in body, url
    # The release manager, on the same pages, sees it.
    rm = client_for("release_manager")
    assert "Acme Live" in rm.get(reverse("dashboard")).content.decode()
    assert "Acme Live" in rm.get(reverse("instance_list")).content.decode()
    # A promotion request into it is refused as if it did not exist.
    response = client.post(
        reverse("promotion_create"),
        {"features": ["RM-7"], "target": pipeline["prod"].pk, "queue_anyway": "on"},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not pipeline["prod"].promotions_in.exclude(pk=promotion.pk).exists()
    assert (
        client.get(f"{reverse('promotion_create')}?target={pipeline['prod'].pk}").status_code == 404
    )


def test_a_feature_started_in_a_hidden_instance_does_not_name_it(
    client_for, prod_for_rms, developer
):
    pipeline = prod_for_rms
    prod = pipeline["prod"]
    prod.name = "Acme Live"
    prod.save(update_fields=["name"])
    # A hotfix started from Production, and so far only there.
    feature = make_feature(pipeline["repo"], "RM-6", developer, started_from=prod)
    place(feature, prod)
    client = client_for("developer")

    for url in [reverse("feature_list"), reverse("feature_detail", args=["RM-6"])]:
        body = client.get(url).content.decode()
        assert "RM-6" in body, url
        assert "Acme Live" not in body and f"/instances/{prod.pk}/" not in body, url
    for path in ["/api/v1/features", "/api/v1/features/RM-6"]:
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert "Acme Live" not in answer.content.decode(), path
    detail = client.get("/api/v1/features/RM-6").json()
    assert detail["started_from"] is None and detail["next_targets"] == []
    # Those who may see Production see where the feature started, and where it may go.
    manager = client_for("release_manager")
    assert "Acme Live" in manager.get(reverse("feature_detail", args=["RM-6"])).content.decode()
    seen = manager.get("/api/v1/features/RM-6").json()
    assert seen["started_from"]["name"] == "Acme Live"
    assert {t["source"]["name"] for t in seen["next_targets"] if t["source"]} == {"Acme Live"}
    feature.refresh_from_db()
    assert feature.started_from_id == prod.pk  # concealed for display, never saved


def test_the_command_line_cannot_find_a_hidden_instance(prod_for_rms, developer):
    make_feature(prod_for_rms["repo"], "RM-8", developer)
    with pytest.raises(CommandError) as refused:
        call_command("promote", "RM-8", "--to", "Production", "--as", developer.username)
    assert "There is no instance “Production”" in str(refused.value)
    assert "Production" not in str(refused.value).split("”.", 1)[1]


def test_the_domain_refuses_a_promotion_without_the_promote_capability(pipeline, developer):
    grant(pipeline["qa"], Capability.PROMOTE, user=make_user("quinn-qa", "Developers"))
    feature = make_feature(pipeline["repo"], "RM-5", developer)
    place(feature, pipeline["integration"])
    with pytest.raises(PromotionError, match="may not request promotions into QA"):
        request_promotion(features=[feature], target=pipeline["qa"], user=developer)


def test_an_approve_grant_limits_approvers_without_hiding_the_instance(
    client_for, pipeline, release_manager, developer, admin_user
):
    approvers = Group.objects.create(name="Production approvers")
    other_rm = make_user("ross-rm", RELEASE_MANAGERS)
    other_rm.groups.add(approvers)
    grant(pipeline["prod"], Capability.APPROVE, group=approvers)
    prod = pipeline["prod"]
    assert allows(developer, prod, Capability.VIEW)  # still visible to everyone
    assert not allows(release_manager, prod, Capability.APPROVE)
    assert allows(other_rm, prod, Capability.APPROVE)
    assert allows(admin_user, prod, Capability.APPROVE)
    assert allows(release_manager, pipeline["uat"], Capability.APPROVE)  # no grants there
    feature = make_feature(pipeline["repo"], "RM-6", developer)
    promotion = make_promotion(
        prod, [feature], developer, source=pipeline["uat"], status="awaiting_approval"
    )
    url = reverse("promotion_approve", args=[promotion.pk])
    assert client_for("release_manager").post(url).status_code == 403
    promotion.refresh_from_db()
    assert promotion.status == "awaiting_approval"


def test_manage_includes_every_capability_and_any_grant_shows_the_instance(pipeline, developer):
    prod = pipeline["prod"]
    grant(prod, Capability.VIEW, group=Group.objects.get(name=RELEASE_MANAGERS))
    grant(prod, Capability.DEPLOY, group=Group.objects.get(name=RELEASE_MANAGERS))
    assert capabilities_on(developer, prod) == frozenset()
    grant(prod, Capability.PROMOTE, user=developer)
    # Any grant shows it; promote is within the developer's role; deploy is not.
    assert capabilities_on(developer, prod) == {Capability.VIEW, Capability.PROMOTE}
    lead = make_user("lena-lead", RELEASE_MANAGERS)
    other = make_user("olga-rm", RELEASE_MANAGERS)
    Group.objects.get(name=RELEASE_MANAGERS).user_set.remove(other)  # keeps only her name
    grant(prod, Capability.MANAGE, user=lead)
    assert Capability.DEPLOY in capabilities_on(lead, prod)
    assert prod in visible_instances(lead)
    assert set(instances_allowing(developer, Capability.PROMOTE)) >= {prod, pipeline["qa"]}


def test_the_queryset_filter_agrees_with_the_single_answer(pipeline, developer, release_manager):
    grant(pipeline["prod"], Capability.VIEW, group=Group.objects.get(name=RELEASE_MANAGERS))
    grant(pipeline["uat"], Capability.VIEW, user=developer)
    for user in (developer, release_manager):
        listed = set(visible_instances(user))
        for key, instance in pipeline.items():
            if key == "repo":
                continue
            assert (instance in listed) == allows(user, instance, Capability.VIEW), (user, key)
    assert pipeline["prod"] not in visible_instances(developer)
    assert pipeline["uat"] in visible_instances(developer)


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("anonymous", 302),
        ("outsider", 403),
        ("developer", 403),
        ("release_manager", 302),
        ("admin", 302),
    ],
)
def test_only_managers_add_and_remove_grants(client_for, pipeline, personas, persona, expected):
    qa = pipeline["qa"]
    group = Group.objects.get(name=RELEASE_MANAGERS)
    response = client_for(persona).post(
        reverse("grant_add", args=[qa.pk]), {"capability": "view", "group": group.pk}
    )
    assert response.status_code == expected
    assert InstanceGrant.objects.filter(instance=qa).exists() == (
        expected == 302 and persona != "anonymous"
    )


def test_a_grant_form_needs_one_user_or_one_group(client_for, pipeline, developer):
    response = client_for("release_manager").post(
        reverse("grant_add", args=[pipeline["qa"].pk]),
        {
            "capability": "view",
            "user": developer.username,
            "group": Group.objects.get(name=RELEASE_MANAGERS).pk,
        },
    )
    assert response.status_code == 400
    assert "Choose one user or one group." in response.content.decode()
    assert not InstanceGrant.objects.exists()


def test_removing_a_grant_is_recorded(client_for, pipeline, developer, release_manager):
    row = grant(pipeline["qa"], Capability.VIEW, user=developer)
    grant(pipeline["qa"], Capability.MANAGE, user=release_manager)
    response = client_for("release_manager").post(
        reverse("grant_delete", args=[pipeline["qa"].pk, row.pk])
    )
    assert response.status_code == 302
    assert not InstanceGrant.objects.filter(pk=row.pk).exists()
    from releasemgr.models import AuditEvent

    assert AuditEvent.for_object(pipeline["qa"]).filter(action="grant removed").exists()
