"""Repository pages: permissions, main branch up front, long-term projects, write-only secret."""

import pytest
from django.urls import reverse

from branching.models import Repository
from tests.conftest import make_repository
from tests.personas import MANAGE, PERSONAS, READ

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("name", "expected", "needs_pk"),
    [
        ("repository_list", READ, False),
        ("repository_detail", READ, True),
        ("repository_create", MANAGE, False),
        ("repository_edit", MANAGE, True),
    ],
)
def test_it_enforces_the_permission_matrix(client_for, persona, name, expected, needs_pk):
    repo = make_repository()
    response = client_for(persona).get(reverse(name, args=[repo.pk] if needs_pk else []))
    assert response.status_code == expected[persona]


def test_it_creates_a_long_term_repository_on_shared_storage(client_for):
    everyday = make_repository(name="Acme", storage="acme")
    response = client_for("release_manager").post(
        reverse("repository_create"),
        {
            "name": "Acme 2027-Q1",
            "main_branch": "release/2027-q1",
            "is_long_term": "on",
            "storage": "acme",
            "source_format": "source",
        },
    )
    long_term = Repository.objects.get(name="Acme 2027-Q1")
    assert response["Location"] == long_term.get_absolute_url()
    assert long_term.storage_key == everyday.storage_key
    body = client_for("developer").get(long_term.get_absolute_url()).content.decode()
    assert "Long-term project" in body
    assert '<span class="branch-tag big">release/2027-q1</span>' in body
    assert "Acme</a>" in body  # shares storage with the everyday repository


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"main_branch": "release..q1"}, "main_branch", "cannot contain '..'"),
        ({"main_branch": "-x"}, "main_branch", "cannot start with '-'"),
        ({"remote_url": "ftp://example.com/x"}, "remote_url", "Give a URL git can fetch"),
        ({"remote_url": "https://example.com/a b"}, "remote_url", "cannot contain spaces"),
    ],
)
def test_it_refuses_bad_input_with_a_message(client_for, fields, field, message):
    data = {"name": "Bad", "main_branch": "main", "source_format": "source", **fields}
    response = client_for("release_manager").post(reverse("repository_create"), data)
    assert response.status_code == 200
    assert any(message in e for e in response.context["form"].errors[field])
    assert not Repository.objects.filter(name="Bad").exists()


def test_it_keeps_the_remote_secret_write_only(client_for):
    client = client_for("release_manager")
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
    repo = Repository.objects.get(name="Remote")
    assert repo.remote_secret.reveal() == "ghp_supersecret"
    for url in (
        repo.get_absolute_url(),
        reverse("repository_edit", args=[repo.pk]),
        reverse("admin:branching_repository_change", args=[repo.pk]),
    ):
        body = client_for("admin").get(url).content.decode()
        assert "ghp_supersecret" not in body
    client.post(
        reverse("repository_edit", args=[repo.pk]),
        {
            "name": "Remote",
            "main_branch": "trunk",
            "source_format": "source",
            "remote_url": "https://git.example.com/acme/sf.git",
            "remote_username": "bot",
            "remote_secret": "",
        },
    )
    repo.refresh_from_db()
    assert repo.main_branch == "trunk" and repo.remote_secret.reveal() == "ghp_supersecret"
