"""The repository's webhook page: addresses, the secret shown once, the last deliveries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from instances.hooks.models import HookDelivery, HookStatus, RepositoryHook
from tests.conftest import make_repository
from tests.instances.promotions.helpers import HOSTILE

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("anonymous", 302),
        ("outsider", 403),
        ("developer", 403),
        ("release_manager", 200),
        ("admin", 200),
    ],
)
def test_only_release_managers_see_the_webhook_page(client_for, personas, persona, status):
    repository = make_repository()
    client = client_for(persona)
    assert client.get(reverse("repository_hooks", args=[repository.pk])).status_code == status
    made = client.post(reverse("repository_hook_secret", args=[repository.pk]))
    assert made.status_code == status
    assert RepositoryHook.objects.exists() == (status == 200)


def test_an_unknown_repository_is_404(client_for):
    assert (
        client_for("release_manager").get(reverse("repository_hooks", args=[999])).status_code
        == 404
    )


def test_the_secret_is_shown_once_and_stored_encrypted(client_for):
    repository = make_repository()
    client = client_for("release_manager")
    page = client.get(reverse("repository_hooks", args=[repository.pk])).content.decode()
    assert f"/hooks/github/{repository.pk}/" in page and f"/hooks/gitea/{repository.pk}/" in page
    assert "every delivery is refused" in page

    made = client.post(reverse("repository_hook_secret", args=[repository.pk])).content.decode()
    secret = RepositoryHook.objects.get().secret.reveal()
    assert secret in made and "never shown again" in made
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM hooks_repositoryhook")
        assert secret not in cursor.fetchone()[0]
    later = client.get(reverse("repository_hooks", args=[repository.pk])).content.decode()
    assert secret not in later and "Set (encrypted)" in later

    client.post(reverse("repository_hook_secret", args=[repository.pk]))
    assert RepositoryHook.objects.get().secret.reveal() != secret  # replaced


def test_the_page_lists_deliveries_escaped(client_for):
    repository = make_repository()
    HookDelivery.objects.create(
        repository=repository,
        provider="github",
        delivery_id=HOSTILE[:100],
        event="push",
        changes=[{"branch": "feature/<b>x</b>", "before": "", "after": "a" * 40}],
        status=HookStatus.REFRESHED,
        detail="Fetched.",
    )
    page = (
        client_for("release_manager")
        .get(reverse("repository_hooks", args=[repository.pk]))
        .content.decode()
    )
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "feature/&lt;b&gt;x&lt;/b&gt;" in page and "Refreshed" in page


def test_the_secret_form_needs_the_csrf_token(release_manager):
    from django.test import Client

    repository = make_repository()
    client = Client(enforce_csrf_checks=True)
    client.force_login(release_manager)
    response = client.post(reverse("repository_hook_secret", args=[repository.pk]))
    assert response.status_code == 403
    assert not RepositoryHook.objects.exists()
