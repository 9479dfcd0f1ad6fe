"""Org connections: write-only secrets encrypted at rest, and the history of an instance's orgs."""

import pytest
from django.db import connection as db
from django.urls import reverse

from instances.models import AuthMethod, OrgConnection
from releasemgr.crypto import MASK
from tests.personas import MANAGE, PERSONAS

pytestmark = pytest.mark.django_db

PASSWORD = "hunter2-Pa55word"
TOKEN = "SECURITYTOKEN12345"


def connect(client, instance, **fields):
    data = {
        "auth_method": AuthMethod.PASSWORD,
        "login_url": "https://test.salesforce.com",
        "username": "deploy@acme.com.uat",
        "password": PASSWORD,
        "security_token": TOKEN,
    }
    data.update(fields)
    return client.post(reverse("org_connection_create", args=[instance.pk]), data)


@pytest.fixture
def connected(client_for, pipeline):
    connect(client_for("release_manager"), pipeline["uat"])
    return OrgConnection.objects.get(instance=pipeline["uat"])


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_enforces_the_permission_matrix(client_for, pipeline, connected, persona):
    client = client_for(persona)
    create = client.get(reverse("org_connection_create", args=[pipeline["uat"].pk]))
    edit = client.get(reverse("org_connection_edit", args=[connected.pk]))
    assert create.status_code == MANAGE[persona]
    assert edit.status_code == MANAGE[persona]
    retire = client.post(reverse("org_connection_retire", args=[connected.pk]))
    expected = {200: 302}.get(MANAGE[persona], MANAGE[persona])
    assert retire.status_code == expected


def test_it_stores_secrets_encrypted_and_never_shows_them(client_for, pipeline, connected):
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT password, security_token FROM instances_orgconnection WHERE id = %s",
            [connected.pk],
        )
        stored_password, stored_token = cursor.fetchone()
    assert PASSWORD not in stored_password and stored_password.startswith("gAAAA")
    assert TOKEN not in stored_token
    assert connected.password.reveal() == PASSWORD
    assert str(connected.password) == MASK and PASSWORD not in repr(connected.password)
    for persona in ("developer", "release_manager", "admin"):
        for url in (
            pipeline["uat"].get_absolute_url(),
            reverse("org_connection_edit", args=[connected.pk]),
            reverse("admin:instances_orgconnection_change", args=[connected.pk]),
            reverse("admin:instances_instance_change", args=[pipeline["uat"].pk]),
        ):
            body = client_for(persona).get(url).content.decode()
            assert PASSWORD not in body and TOKEN not in body
            assert stored_password not in body


def test_it_keeps_a_secret_when_the_edit_leaves_it_blank(client_for, connected):
    response = client_for("release_manager").post(
        reverse("org_connection_edit", args=[connected.pk]),
        {
            "auth_method": AuthMethod.PASSWORD,
            "login_url": "https://test.salesforce.com",
            "username": "deploy@acme.com.uat",
            "password": "",
            "security_token": "",
        },
    )
    assert response.status_code == 302
    connected.refresh_from_db()
    assert connected.password.reveal() == PASSWORD
    assert connected.security_token.reveal() == TOKEN


def test_it_replaces_a_secret_that_is_typed_again(client_for, connected):
    client_for("release_manager").post(
        reverse("org_connection_edit", args=[connected.pk]),
        {
            "auth_method": AuthMethod.PASSWORD,
            "login_url": "https://test.salesforce.com",
            "username": "deploy@acme.com.uat",
            "password": "new-password",
        },
    )
    connected.refresh_from_db()
    assert connected.password.reveal() == "new-password"
    assert connected.security_token.reveal() == TOKEN


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"password": ""}, "password", "The password is required for this auth method."),
        ({"username": ""}, "username", "The username is required for this auth method."),
        ({"login_url": "http://login.salesforce.com"}, "login_url", "Enter a valid URL."),
        (
            {"auth_method": AuthMethod.JWT, "consumer_key": ""},
            "consumer_key",
            "The connected app consumer key is required",
        ),
        (
            {"auth_method": AuthMethod.SFDX_URL, "sfdx_auth_url": "https://nope"},
            "sfdx_auth_url",
            "An SFDX auth URL starts with force://",
        ),
        (
            {"auth_method": AuthMethod.ACCESS_TOKEN, "access_token": "00D!x"},
            "instance_url",
            "The instance URL is required",
        ),
    ],
)
def test_it_explains_what_each_auth_method_needs(client_for, pipeline, fields, field, message):
    response = connect(client_for("release_manager"), pipeline["qa"], **fields)
    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    assert any(message in e for e in errors)
    assert not OrgConnection.objects.filter(instance=pipeline["qa"]).exists()


def test_it_keeps_the_history_when_a_new_org_is_connected(client_for, pipeline, connected):
    client = client_for("release_manager")
    connect(client, pipeline["uat"], username="deploy@acme.com.uat2", password="p2")
    connections = list(OrgConnection.objects.filter(instance=pipeline["uat"]))
    assert len(connections) == 2
    active = [c for c in connections if c.is_active]
    assert len(active) == 1 and active[0].username == "deploy@acme.com.uat2"
    retired = [c for c in connections if not c.is_active][0]
    assert retired.retired_at is not None and retired.password.reveal() == PASSWORD
    body = client.get(pipeline["uat"].get_absolute_url()).content.decode()
    assert "Earlier orgs (1)" in body


def test_it_disconnects_an_org(client_for, pipeline, connected):
    client_for("release_manager").post(reverse("org_connection_retire", args=[connected.pk]))
    connected.refresh_from_db()
    assert not connected.is_active
    assert pipeline["uat"].org_connection is None


def test_it_allows_one_active_connection_per_instance_in_the_database(pipeline, connected):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        OrgConnection.objects.create(
            instance=pipeline["uat"],
            auth_method=AuthMethod.ACCESS_TOKEN,
            instance_url="https://acme.my.salesforce.com",
            access_token="x",
        )
