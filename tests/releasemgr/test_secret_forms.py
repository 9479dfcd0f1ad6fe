"""Stored secrets never follow a record to a new host, and are never rendered back.

Through the pages a release manager uses: the org connection form and the repository form.
"""

import pytest
from django.urls import reverse

from branching.models import Repository
from instances.models import AuthMethod, OrgConnection
from tests.conftest import make_repository

pytestmark = pytest.mark.django_db

PASSWORD = "hunter2-Pa55word"
TOKEN = "SECURITYTOKEN12345"
PEM = (
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC-secret-key-body\n"
    "-----END PRIVATE KEY-----"
)

BASE = {
    "auth_method": AuthMethod.PASSWORD,
    "login_url": "https://test.salesforce.com",
    "username": "deploy@acme.com.uat",
}


@pytest.fixture
def connected(client_for, pipeline):
    client_for("release_manager").post(
        reverse("org_connection_create", args=[pipeline["uat"].pk]),
        {**BASE, "password": PASSWORD, "security_token": TOKEN},
    )
    return OrgConnection.objects.get(instance=pipeline["uat"])


@pytest.mark.parametrize(
    "change",
    [
        {"login_url": "https://evil.my.salesforce.com"},
        {"username": "someone-else@acme.com"},
        {"instance_url": "https://acme.my.salesforce.com"},
    ],
)
def test_it_drops_the_stored_secrets_when_where_they_go_changes(client_for, connected, change):
    response = client_for("release_manager").post(
        reverse("org_connection_edit", args=[connected.pk]), {**BASE, **change}
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "was dropped" in errors["password"][0] and "type it again" in errors["password"][0]
    assert "security token was dropped" in errors["security_token"][0]
    connected.refresh_from_db()
    assert connected.login_url == BASE["login_url"] and connected.username == BASE["username"]
    assert connected.password.reveal() == PASSWORD


def test_it_saves_the_new_host_with_the_secrets_typed_again(client_for, connected):
    response = client_for("release_manager").post(
        reverse("org_connection_edit", args=[connected.pk]),
        {**BASE, "login_url": "https://acme.my.salesforce.com", "password": "new-one"},
    )
    assert response.status_code == 200  # the security token was stored: it is asked for too
    response = client_for("release_manager").post(
        reverse("org_connection_edit", args=[connected.pk]),
        {
            **BASE,
            "login_url": "https://acme.my.salesforce.com",
            "password": "new-one",
            "security_token": "NEWTOKEN",
        },
    )
    assert response.status_code == 302
    connected.refresh_from_db()
    assert connected.password.reveal() == "new-one"
    assert connected.security_token.reveal() == "NEWTOKEN"


def test_it_drops_secrets_of_another_auth_method_and_asks_for_the_new_ones(client_for, connected):
    response = client_for("release_manager").post(
        reverse("org_connection_edit", args=[connected.pk]),
        {**BASE, "auth_method": AuthMethod.JWT, "consumer_key": "3MVG9"},
    )
    errors = response.context["form"].errors
    assert "password" not in errors  # not used by JWT: dropped without a word
    assert "private key (PEM) is required" in errors["private_key"][0]
    response = client_for("release_manager").post(
        reverse("org_connection_edit", args=[connected.pk]),
        {**BASE, "auth_method": AuthMethod.JWT, "consumer_key": "3MVG9", "private_key": PEM},
    )
    assert response.status_code == 302
    connected.refresh_from_db()
    assert not connected.password and not connected.security_token
    assert connected.private_key.reveal() == PEM


def test_it_never_renders_a_submitted_private_key_back(client_for, pipeline):
    response = client_for("release_manager").post(
        reverse("org_connection_create", args=[pipeline["qa"].pk]),
        {**BASE, "auth_method": AuthMethod.JWT, "consumer_key": "", "private_key": PEM},
    )
    assert response.status_code == 200 and response.context["form"].errors["consumer_key"]
    body = response.content.decode()
    assert "secret-key-body" not in body and "BEGIN PRIVATE KEY" not in body


@pytest.mark.parametrize(
    "secret_field", ["password", "security_token", "access_token", "sfdx_auth_url"]
)
def test_it_never_renders_any_submitted_secret_back(client_for, pipeline, secret_field):
    response = client_for("release_manager").post(
        reverse("org_connection_create", args=[pipeline["qa"].pk]),
        {**BASE, "username": "", secret_field: "force://very-secret-value"},
    )
    assert response.status_code == 200
    assert "very-secret-value" not in response.content.decode()


def _repository_with_secret(client):
    client.post(
        reverse("repository_create"),
        {
            "name": "Remote",
            "main_branch": "main",
            "source_format": "source",
            "remote_url": "https://git.example.com/acme/sf.git",
            "remote_username": "bot",
            "remote_secret": "ghp_supersecret",
        },
    )
    return Repository.objects.get(name="Remote")


@pytest.mark.parametrize(
    "change",
    [{"remote_url": "https://git.evil.example/acme/sf.git"}, {"remote_username": "other"}],
)
def test_it_drops_the_remote_secret_when_the_remote_changes(client_for, change):
    client = client_for("release_manager")
    repo = _repository_with_secret(client)
    data = {
        "name": "Remote",
        "main_branch": "main",
        "source_format": "source",
        "remote_url": "https://git.example.com/acme/sf.git",
        "remote_username": "bot",
        **change,
    }
    response = client.post(reverse("repository_edit", args=[repo.pk]), data)
    assert response.status_code == 200
    assert "was dropped" in response.context["form"].errors["remote_secret"][0]
    repo.refresh_from_db()
    assert repo.remote_url == "https://git.example.com/acme/sf.git"
    assert repo.remote_secret.reveal() == "ghp_supersecret"
    response = client.post(
        reverse("repository_edit", args=[repo.pk]), {**data, "remote_secret": "ghp_new"}
    )
    assert response.status_code == 302
    repo.refresh_from_db()
    assert repo.remote_secret.reveal() == "ghp_new"


def test_it_drops_secrets_in_the_admin_too(client_for, connected):
    response = client_for("admin").post(
        reverse("admin:instances_orgconnection_change", args=[connected.pk]),
        {**BASE, "instance": connected.instance.pk, "login_url": "https://acme.my.salesforce.com"},
    )
    assert response.status_code == 200
    assert "was dropped" in response.content.decode()
    connected.refresh_from_db()
    assert connected.login_url == BASE["login_url"]


def test_a_repository_without_a_secret_changes_its_remote_freely(client_for):
    repo = make_repository(remote_url="https://git.example.com/a/b.git")
    response = client_for("release_manager").post(
        reverse("repository_edit", args=[repo.pk]),
        {
            "name": repo.name,
            "main_branch": "main",
            "source_format": "source",
            "remote_url": "https://git.example.com/a/c.git",
        },
    )
    assert response.status_code == 302
