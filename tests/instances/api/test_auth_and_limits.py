"""Who may call, over real HTTP: a live token only (expired, revoked, malformed and foreign
tokens are refused with the reason), a browser session with CSRF, and the rate limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from releasemgr import tokens
from releasemgr.models import AccessToken

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_a_live_token_is_its_user_and_is_marked_used(api, developer):
    token, raw = tokens.create_token(developer, "ci-main", ["read"])
    answer = api("GET", "/me", raw)
    assert answer.status == 200
    assert answer.data == {
        "username": "dan-dev",
        "role": "Developer",
        "token": {"name": "ci-main", "scopes": ["read"], "expires_at": None},
    }
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_from == "127.0.0.1"


def test_an_expired_token_is_refused(api, developer):
    token, raw = tokens.create_token(developer, "ci-main", ["read"], expires_in_days=1)
    AccessToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(1))
    answer = api("GET", "/me", raw)
    assert answer.status == 401
    assert "“ci-main” expired on" in answer.problem["detail"]
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]


def test_a_revoked_token_is_refused(api, developer):
    token, raw = tokens.create_token(developer, "ci-main", ["read"])
    assert api("GET", "/me", raw).status == 200
    tokens.revoke(token, developer)
    answer = api("GET", "/me", raw)
    assert answer.status == 401
    assert answer.problem["detail"] == "The access token “ci-main” was revoked."


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        ("Bearer rmp_000000000000_" + "x" * 43, "The access token is not valid."),
        ("Bearer not-a-token", "That is not a releasemgr access token."),
        ("Basic ZGFuOnBhc3N3b3Jk", "Send the personal access token as"),
        ("Bearer", "Send the personal access token as"),
    ],
)
def test_a_wrong_or_malformed_token_is_refused(api, developer, header, detail):
    answer = api("GET", "/me", headers={"Authorization": header})
    assert answer.status == 401
    assert detail in answer.problem["detail"]


def test_a_tampered_secret_with_a_real_prefix_is_refused(api, developer):
    _, raw = tokens.create_token(developer, "ci-main", ["read"])
    tampered = raw[:-2] + ("aa" if not raw.endswith("aa") else "bb")
    assert api("GET", "/me", tampered).status == 401


def test_the_token_of_an_inactive_user_is_refused(api, developer):
    _, raw = tokens.create_token(developer, "ci-main", ["read"])
    developer.is_active = False
    developer.save(update_fields=["is_active"])
    answer = api("GET", "/me", raw)
    assert answer.status == 401
    assert "inactive" in answer.problem["detail"]


def test_a_browser_session_may_read_and_must_send_csrf_to_act(live_server, developer):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(developer)
    assert client.get("/api/v1/me").json()["token"] is None
    refused = client.post("/api/v1/features", {}, content_type="application/json")
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"


@pytest.fixture
def still_clock(monkeypatch):
    """Ten seconds into a window, all test long: a window ending mid-test would reset counts."""
    from instances.api import limits

    monkeypatch.setattr(limits, "clock", lambda: 1_800_000_010.0)


def test_it_answers_429_with_retry_after_once_a_token_passes_its_limit(
    api, developer, settings, still_clock
):
    settings.API_RATE_PER_TOKEN = 3
    _, raw = tokens.create_token(developer, "ci-main", ["read"])
    _, other = tokens.create_token(developer, "ci-other", ["read"])
    assert [api("GET", "/me", raw).status for _ in range(3)] == [200, 200, 200]
    limited = api("GET", "/me", raw)
    assert limited.status == 429
    retry_after = int(limited.headers["retry-after"])
    assert retry_after == 50  # the rest of the window
    assert limited.problem["retry_after"] == retry_after
    assert "with this token: at most 3 a minute" in limited.problem["detail"]
    assert api("GET", "/me", other).status == 200  # another token has its own count


def test_it_answers_429_per_address_even_before_a_token_is_checked(
    api, developer, settings, still_clock
):
    settings.API_RATE_PER_ADDRESS = 4
    _, raw = tokens.create_token(developer, "ci-main", ["read"])
    guesses = [api("GET", "/me", "rmp_000000000000_" + "y" * 43).status for _ in range(4)]
    assert guesses == [401, 401, 401, 401]
    limited = api("GET", "/me", raw)  # the right token, from the same address
    assert limited.status == 429
    assert "from this address" in limited.problem["detail"]
    assert int(limited.headers["retry-after"]) >= 1
