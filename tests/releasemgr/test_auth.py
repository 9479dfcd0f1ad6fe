"""Login on every page but the health check; a role or a clear "no access" page."""

import pytest
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url", ["/", "/instances/", "/repositories/", "/instances/1/", "/instances/new/"]
)
def test_it_sends_anonymous_visitors_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_it_logs_in_and_out(client, release_manager):
    response = client.post(
        reverse("login"), {"username": release_manager.username, "password": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    assert client.get("/").status_code == 200
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_it_refuses_a_wrong_password_with_a_message(client, release_manager):
    response = client.post(
        reverse("login"), {"username": release_manager.username, "password": "nope"}
    )
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_it_shows_no_data_to_a_user_without_a_role(client_for, pipeline):
    response = client_for("outsider").get("/")
    body = response.content.decode()
    assert response.status_code == 403
    assert "No access" in body and "Release managers" in body
    assert "Production" not in body and "<svg" not in body


def test_it_lets_a_user_without_a_role_log_out(client_for, pipeline):
    assert client_for("outsider").post(reverse("logout")).status_code == 302


def test_it_requires_csrf_tokens_on_forms(pipeline, release_manager):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(release_manager)
    response = client.post(reverse("instance_delete", args=[pipeline["scratch"].pk]))
    assert response.status_code == 403
    assert pipeline["scratch"].__class__.objects.filter(pk=pipeline["scratch"].pk).exists()


def test_it_puts_the_csrf_token_in_htmx_headers(client_for, pipeline):
    body = client_for("developer").get("/").content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in body
