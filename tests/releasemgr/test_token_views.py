"""The user's own access tokens page: create (shown once), list, revoke; nobody else's."""

import pytest
from django.urls import reverse

from instances.models import PromotionLog
from releasemgr import tokens
from releasemgr.models import AccessToken, AuditEvent
from tests.instances.promotions.helpers import make_feature, make_promotion

pytestmark = pytest.mark.django_db

URL = "/settings/tokens/"


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("anonymous", 302),
        ("outsider", 403),
        ("developer", 200),
        ("release_manager", 200),
        ("admin", 200),
    ],
)
def test_it_lets_every_role_see_their_tokens(client_for, persona, status):
    assert client_for(persona).get(URL).status_code == status


def test_it_creates_a_token_and_shows_it_once(client_for, developer):
    client = client_for("developer")
    response = client.post(
        URL, {"name": "ci-main", "scopes": ["read", "promote"], "expires_in_days": "30"}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    raw = response.context["new_token"]
    assert raw in response.content.decode()
    token = tokens.authenticate(raw)
    assert token is not None and token.user == developer and token.scopes == ["read", "promote"]
    assert token.expires_at is not None
    again = client.get(URL).content.decode()
    assert raw not in again and "ci-main" in again
    assert AuditEvent.objects.filter(action="created", target_id=str(token.pk)).exists()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"name": "", "scopes": ["read"]}, "This field is required"),
        ({"name": "ci", "scopes": ["root"]}, "Select a valid choice"),
        ({"name": "ci"}, "This field is required"),
        ({"name": "ci", "scopes": ["read"], "expires_in_days": "0"}, "greater than or equal to 1"),
        ({"name": "ci", "scopes": ["read"], "expires_in_days": "soon"}, "whole number"),
    ],
)
def test_it_refuses_bad_input_and_creates_nothing(client_for, data, error):
    response = client_for("developer").post(URL, data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not AccessToken.objects.exists()


def test_it_refuses_a_second_live_token_of_the_same_name(client_for, developer):
    tokens.create_token(developer, "ci-main", ["read"])
    response = client_for("developer").post(URL, {"name": "ci-main", "scopes": ["read"]})
    assert response.status_code == 400
    assert "already has a token named" in response.content.decode()
    assert AccessToken.objects.count() == 1


def test_it_lists_only_the_users_own_tokens(client_for, developer, release_manager):
    tokens.create_token(developer, "dans-token", ["read"])
    tokens.create_token(release_manager, "ritas-token", ["approve"])
    body = client_for("developer").get(URL).content.decode()
    assert "dans-token" in body and "ritas-token" not in body


def test_it_revokes_the_users_own_token(client_for, developer):
    token, raw = tokens.create_token(developer, "ci-main", ["read"])
    response = client_for("developer").post(reverse("token_revoke", args=[token.pk]))
    assert response.status_code == 302
    assert tokens.authenticate(raw) is None
    assert "revoked" in client_for("developer").get(URL).content.decode()


@pytest.mark.parametrize("persona", ["release_manager", "admin"])
def test_nobody_revokes_another_users_token_from_this_page(client_for, developer, persona):
    token, raw = tokens.create_token(developer, "ci-main", ["read"])
    assert client_for(persona).post(reverse("token_revoke", args=[token.pk])).status_code == 404
    assert tokens.authenticate(raw) is not None


def test_revoking_needs_a_post(client_for, developer):
    token, raw = tokens.create_token(developer, "ci-main", ["read"])
    assert client_for("developer").get(reverse("token_revoke", args=[token.pk])).status_code == 405
    assert tokens.authenticate(raw) is not None


def test_it_escapes_a_hostile_token_name(client_for, developer):
    tokens.create_token(developer, "<script>alert(1)</script>", ["read"])
    body = client_for("developer").get(URL).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_the_promotion_log_says_which_token_acted(pipeline, developer, release_manager):
    from instances.promotions.rules import cancel

    feature = make_feature(pipeline["repo"], "RM-1", developer)
    promotion = make_promotion(pipeline["integration"], [feature], developer)
    token, _ = tokens.create_token(developer, "ci-main", ["promote"])
    with tokens.using(token):
        cancel(promotion, developer)
    line = PromotionLog.objects.filter(promotion=promotion).last()
    assert line is not None
    assert line.message.endswith("cancelled the promotion. (via token ci-main)")
