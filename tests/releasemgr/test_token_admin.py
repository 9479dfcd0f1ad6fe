"""Access tokens in the admin: created for any user and shown once, revoked, never edited."""

import pytest
from django.contrib import admin
from django.urls import reverse

from releasemgr import tokens
from releasemgr.models import AccessToken, AuditEvent

pytestmark = pytest.mark.django_db


def test_it_is_registered_and_lists_and_searches(client_for, developer):
    assert admin.site.is_registered(AccessToken)
    tokens.create_token(developer, "ci-main", ["read"])
    url = reverse("admin:releasemgr_accesstoken_changelist")
    client = client_for("admin")
    assert "ci-main" in client.get(url).content.decode()
    assert client.get(url, {"q": "dan"}).context["cl"].result_count == 1
    assert client.get(url, {"revoked_at__isempty": "1"}).status_code == 200


def test_an_admin_creates_a_token_for_a_user_and_sees_it_once(client_for, developer, admin_user):
    response = client_for("admin").post(
        reverse("admin:releasemgr_accesstoken_add"),
        {"user": developer.pk, "name": "ci-main", "scopes": ["promote"], "expires_in_days": "7"},
    )
    assert response.status_code == 200, response.content.decode()[:2000]
    raw = response.context["raw"]
    token = tokens.authenticate(raw)
    assert token is not None and token.user == developer and token.scopes == ["promote"]
    assert raw in response.content.decode()
    change = client_for("admin").get(
        reverse("admin:releasemgr_accesstoken_change", args=[token.pk])
    )
    assert raw not in change.content.decode() and token.digest not in change.content.decode()
    event = AuditEvent.objects.get(action="created", target_id=str(token.pk))
    assert event.actor == admin_user


def test_the_admin_refuses_a_duplicate_live_name(client_for, developer):
    tokens.create_token(developer, "ci-main", ["read"])
    response = client_for("admin").post(
        reverse("admin:releasemgr_accesstoken_add"),
        {"user": developer.pk, "name": "ci-main", "scopes": ["read"]},
    )
    assert response.status_code == 200
    assert "already has a token named" in response.content.decode()
    assert AccessToken.objects.count() == 1


def test_the_admin_revokes_selected_tokens_and_deletes_none(client_for, developer):
    token, raw = tokens.create_token(developer, "ci-main", ["read"])
    client = client_for("admin")
    url = reverse("admin:releasemgr_accesstoken_changelist")
    client.post(url, {"action": "revoke_selected", "_selected_action": [token.pk]})
    assert tokens.authenticate(raw) is None
    delete = reverse("admin:releasemgr_accesstoken_delete", args=[token.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert AccessToken.objects.filter(pk=token.pk).exists()


def test_editing_a_token_in_the_admin_changes_nothing(client_for, developer):
    token, raw = tokens.create_token(developer, "ci-main", ["read"])
    client_for("admin").post(
        reverse("admin:releasemgr_accesstoken_change", args=[token.pk]),
        {"name": "renamed", "scopes": '["manage"]'},
    )
    token.refresh_from_db()
    assert token.name == "ci-main" and token.scopes == ["read"]
    assert tokens.authenticate(raw) is not None
