"""The "Roll back" action: who sees it, the confirmation page with what a rollback cannot
undo and its acknowledgement, refusals that change nothing, and the pages afterwards."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from instances.models import Capability, Direction, InstanceGrant, Promotion, PromotionStatus
from instances.promotions.errors import PromotionError
from instances.promotions.irreversible import what_stays
from instances.promotions.rules import request_rollback
from releasemgr.roles import RELEASE_MANAGERS
from tests.conftest import make_user
from tests.instances.promotions.helpers import (
    HOSTILE,
    commit_to,
    make_feature,
    make_promotion,
    promote,
    promote_invoice,
    run,
    start,
)
from tests.personas import MANAGE, PERSONAS

pytestmark = pytest.mark.django_db

OBJECT = "force-app/main/default/objects/Invoice__c/"
NS = 'xmlns="http://soap.sforce.com/2006/04/metadata"'


@pytest.fixture
def promoted(git_pipeline, developer):
    return promote_invoice(git_pipeline, developer)[1]


def url(promotion: Promotion) -> str:
    return reverse("promotion_rollback", args=[promotion.pk])


def rollbacks() -> int:
    return Promotion.objects.filter(direction=Direction.ROLLBACK).count()


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_confirmation_page_follows_the_permission_matrix(client_for, promoted, persona):
    response = client_for(persona).get(url(promoted))
    assert response.status_code == MANAGE[persona]
    if response.status_code == 200:
        body = response.content.decode()
        assert "What the rollback cannot undo" in body
        assert 'name="acknowledge"' in body and "csrfmiddlewaretoken" in body
        assert "RM-1" in body


@pytest.mark.parametrize("persona", PERSONAS)
def test_asking_for_a_rollback_follows_the_permission_matrix(client_for, promoted, persona):
    response = client_for(persona).post(url(promoted), {"acknowledge": "on"})
    expected = {**MANAGE, "release_manager": 302, "admin": 302}[persona]
    assert response.status_code == expected
    made = Promotion.objects.filter(rollback_of=promoted).first()
    if expected == 302 and persona != "anonymous":
        assert made is not None and response["Location"] == made.get_absolute_url()
    else:
        assert made is None


def test_the_button_shows_to_release_managers_on_a_succeeded_promotion(client_for, promoted):
    link = f'href="{url(promoted)}"'
    assert link in client_for("release_manager").get(promoted.get_absolute_url()).content.decode()
    assert link not in client_for("developer").get(promoted.get_absolute_url()).content.decode()


def test_without_the_acknowledgement_it_is_a_form_error_and_nothing_is_queued(client_for, promoted):
    response = client_for("release_manager").post(url(promoted), {})
    assert response.status_code == 400
    assert "Acknowledge what the rollback cannot undo" in response.content.decode()
    assert rollbacks() == 0
    with pytest.raises(PromotionError, match="Acknowledge"):
        request_rollback(promoted, make_user("rm2", RELEASE_MANAGERS), acknowledge=False)
    assert rollbacks() == 0


def test_it_needs_the_csrf_token(promoted, release_manager):
    client = Client(enforce_csrf_checks=True)
    client.force_login(release_manager)
    assert client.post(url(promoted), {"acknowledge": "on"}).status_code == 403
    assert rollbacks() == 0


@pytest.mark.parametrize("status", [PromotionStatus.QUEUED, PromotionStatus.FAILED])
def test_a_promotion_that_did_not_succeed_cannot_be_rolled_back(
    client_for, pipeline, developer, status
):
    feature = make_feature(pipeline["repo"], "RM-9", developer)
    promotion = make_promotion(
        pipeline["integration"], [feature], developer, source=pipeline["alice"], status=status
    )
    client = client_for("release_manager")
    response = client.post(url(promotion), {"acknowledge": "on"})
    assert response.status_code == 302 and response["Location"] == promotion.get_absolute_url()
    page = client.get(promotion.get_absolute_url()).content.decode()
    assert "only a succeeded promotion can be rolled back" in page
    assert rollbacks() == 0


def test_a_rollback_is_not_rolled_back_nor_asked_for_twice(client_for, promoted, release_manager):
    rollback = request_rollback(promoted, release_manager, acknowledge=True)
    client = client_for("release_manager")
    follow = client.post(url(promoted), {"acknowledge": "on"}, follow=True).content.decode()
    assert f"is rolling back by #{rollback.pk}" in follow
    run(rollback)
    assert rollback.rollbacks.count() == 0
    with pytest.raises(PromotionError, match="is a rollback; promote its features again"):
        request_rollback(rollback, release_manager, acknowledge=True)
    follow = client.post(url(rollback), {"acknowledge": "on"}, follow=True).content.decode()
    assert "is a rollback" in follow
    with pytest.raises(PromotionError, match=f"was rolled back by #{rollback.pk}"):
        request_rollback(promoted, release_manager, acknowledge=True)
    assert rollbacks() == 1


def test_instance_grants_decide_who_rolls_back(client_for, promoted, release_manager):
    integration = promoted.target
    approvers = Group.objects.create(name="Integration approvers")
    boss = make_user("bea-boss", RELEASE_MANAGERS)
    approver = make_user("abe-approver", RELEASE_MANAGERS)
    approver.groups.add(approvers)
    InstanceGrant.objects.create(instance=integration, capability=Capability.MANAGE, user=boss)
    InstanceGrant.objects.create(
        instance=integration, capability=Capability.APPROVE, group=approvers
    )
    for user, expected in ((release_manager, 403), (approver, 200), (boss, 200)):
        client = Client()
        client.force_login(user)
        assert client.get(url(promoted)).status_code == expected, user


def test_a_rollback_runs_and_the_pages_say_rolled_back_by(client_for, git_pipeline, promoted):
    client = client_for("release_manager")
    response = client.post(url(promoted), {"acknowledge": "on"})
    rollback = Promotion.objects.get(rollback_of=promoted)
    assert response["Location"] == rollback.get_absolute_url()
    assert rollback.status == PromotionStatus.QUEUED
    log = list(rollback.log.values_list("message", flat=True))
    assert any("acknowledged what it cannot undo: Records changed since" in m for m in log)
    run(rollback)
    page = client.get(rollback.get_absolute_url()).content.decode()
    assert f"Promotion #{promoted.pk}</a>: its merges are reverted" in page
    original = client.get(promoted.get_absolute_url()).content.decode()
    assert f'href="{rollback.get_absolute_url()}">#{rollback.pk}</a>' in original
    assert f'href="{url(promoted)}"' not in original  # nothing more to roll back

    feature_page = client_for("developer").get(reverse("feature_detail", args=["RM-1"]))
    row = feature_page.content.decode().split(f'id="presence-{promoted.target_id}"')[1]
    assert f"rolled back by #{rollback.pk}" in row.split("</tr>")[0]
    instance_page = client_for("developer").get(promoted.target.get_absolute_url())
    assert f"rolled back by #{rollback.pk}" in instance_page.content.decode()


def test_it_lists_what_a_rollback_cannot_undo_from_the_package(client_for, git_pipeline, developer):
    feature = start(git_pipeline, "RM-4", HOSTILE, developer)
    commit_to(
        feature,
        {
            OBJECT + "Invoice__c.object-meta.xml": f"<CustomObject {NS}/>\n".encode(),
            OBJECT + "recordTypes/Large.recordType-meta.xml": f"<RecordType {NS}/>\n".encode(),
            OBJECT + "fields/Status__c.field-meta.xml": (
                f"<CustomField {NS}><fullName>Status__c</fullName><type>Picklist</type>"
                "<valueSet><valueSetDefinition><value><fullName>Open</fullName></value>"
                "</valueSetDefinition></valueSet></CustomField>\n"
            ).encode(),
            "force-app/main/default/flows/Approve.flow-meta.xml": f"<Flow {NS}/>\n".encode(),
        },
    )
    promotion = promote([feature], git_pipeline["alice"], developer)
    stays, note = what_stays(promotion)
    assert note == ""
    found = {s.title: s.components for s in stays}
    assert found["Record types stay"] == ["RecordType Invoice__c.Large"]
    assert (
        "CustomField Invoice__c.Status__c" in found["Data in added objects and fields is deleted"]
    )
    assert "CustomObject Invoice__c" in found["Data in added objects and fields is deleted"]
    assert found["Flows keep their versions"] == ["Flow Approve"]
    assert found["Picklist values stay on records"] == ["CustomField Invoice__c.Status__c"]
    assert "Records changed since" in found

    body = client_for("release_manager").get(url(promotion)).content.decode()
    assert "The Metadata API cannot delete record types" in body
    assert "RecordType Invoice__c.Large" in body
    assert "<script>alert" not in body
