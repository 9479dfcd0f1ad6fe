"""The repository form holds remote URLs to the server's rules, and no page shows credentials."""

import pytest
from django.urls import reverse

from branching.models import Repository
from tests.conftest import make_repository

pytestmark = pytest.mark.django_db


def create(client, **fields):
    data = {"name": "Remote", "main_branch": "main", "source_format": "source", **fields}
    return client.post(reverse("repository_create"), data)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://bot:ghp_token@github.com/acme/sf.git", "not in the URL"),
        ("http://git.example.com/acme/sf.git", "unencrypted"),
        ("git://git.example.com/acme/sf.git", "unencrypted"),
        ("file:///etc", "not allowed on this server"),
        ("/var/lib/git/acme.git", "not allowed on this server"),
        ("ssh://-oProxyCommand=touch@x/y", "cannot start with '-'"),
        ("https://169.254.169.254/latest", "link-local"),
    ],
)
def test_it_refuses_remote_urls_the_server_may_not_use(client_for, url, message):
    response = create(client_for("release_manager"), remote_url=url)
    assert response.status_code == 200
    assert any(message in e for e in response.context["form"].errors["remote_url"])
    assert not Repository.objects.filter(name="Remote").exists()


def test_the_settings_allow_what_the_defaults_refuse(client_for, settings, tmp_path):
    settings.GIT_ALLOW_INSECURE_TRANSPORTS = True
    settings.GIT_ALLOW_PRIVATE_ADDRESSES = True
    settings.GIT_LOCAL_ROOT = str(tmp_path)
    client = client_for("release_manager")
    assert create(client, remote_url="git://10.0.0.5/acme.git").status_code == 302
    response = create(client, name="Local", remote_url=f"file://{tmp_path}/acme.git")
    assert response.status_code == 302
    response = create(client, name="Outside", remote_url="file:///etc/acme.git")
    assert "must be under" in response.context["form"].errors["remote_url"][0]


def test_an_ssh_remote_refuses_a_password(client_for):
    response = create(
        client_for("release_manager"),
        remote_url="ssh://git@github.com/acme/sf.git",
        remote_secret="hunter2",
    )
    assert "sign in with the server's key" in response.context["form"].errors["remote_secret"][0]


def test_no_page_shows_credentials_stored_in_an_old_remote_url(client_for):
    repo = make_repository(remote_url="https://bot:ghp_legacy@git.example.com/acme/sf.git")
    for url in (
        reverse("repository_list"),
        repo.get_absolute_url(),
        reverse("repository_edit", args=[repo.pk]),
        reverse("admin:branching_repository_changelist"),
        reverse("admin:branching_repository_change", args=[repo.pk]),
    ):
        body = client_for("admin").get(url).content.decode()
        assert "ghp_legacy" not in body, url
    assert (
        "git.example.com/acme/sf.git"
        in client_for("developer").get(repo.get_absolute_url()).content.decode()
    )
