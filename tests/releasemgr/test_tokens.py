"""Personal access tokens: stored hashed, found by prefix, refused when revoked or expired."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from releasemgr import tokens
from releasemgr.models import AccessToken, AuditEvent, Scope

pytestmark = pytest.mark.django_db


def test_it_stores_only_a_prefix_and_a_digest(developer):
    token, raw = tokens.create_token(developer, "ci-main", ["promote"])
    assert raw.startswith(f"rmp_{token.prefix}_")
    assert len(raw) > 50
    row = AccessToken.objects.values().get(pk=token.pk)
    assert raw not in str(row)
    assert row["digest"] == tokens.digest(raw)
    assert token.scopes == ["promote"]


def test_it_authenticates_the_raw_token_and_records_its_use(developer):
    token, raw = tokens.create_token(developer, "ci-main", ["read"])
    found = tokens.authenticate(raw, address="10.1.2.3")
    assert found is not None and found.pk == token.pk and found.user == developer
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert token.last_used_from == "10.1.2.3"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda raw: raw[:-1] + ("A" if raw[-1] != "A" else "B"),  # wrong secret, right prefix
        lambda raw: raw.replace("rmp_", "rmx_"),
        lambda raw: "rmp_" + "0" * 12 + raw[16:],  # unknown prefix
        lambda raw: "",
        lambda raw: "rmp_short",
        lambda raw: raw[:16] + "-" + raw[17:],
    ],
)
def test_it_refuses_a_wrong_token(developer, mangle):
    _, raw = tokens.create_token(developer, "ci-main", ["read"])
    assert tokens.authenticate(mangle(raw)) is None
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(mangle(raw))


def test_it_refuses_a_revoked_token(developer, release_manager):
    token, raw = tokens.create_token(developer, "ci-main", ["read"])
    assert tokens.revoke(token, developer) is True
    assert tokens.revoke(token, release_manager) is False  # already revoked: no second event
    with pytest.raises(tokens.InvalidToken, match="revoked"):
        tokens.verify(raw)
    assert AuditEvent.objects.filter(action="revoked", target_type="accesstoken").count() == 1


def test_it_refuses_an_expired_token(developer):
    token, raw = tokens.create_token(developer, "ci-main", ["read"], expires_in_days=1)
    assert tokens.authenticate(raw) is not None
    AccessToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(tokens.InvalidToken, match="expired"):
        tokens.verify(raw)


def test_it_refuses_the_token_of_an_inactive_user(developer):
    _, raw = tokens.create_token(developer, "ci-main", ["read"])
    developer.is_active = False
    developer.save(update_fields=["is_active"])
    assert tokens.authenticate(raw) is None


def test_it_checks_scopes_and_every_scope_reads(developer):
    token, _ = tokens.create_token(developer, "ci-main", ["promote"])
    assert tokens.has_scope(token, Scope.READ)
    assert tokens.has_scope(token, Scope.PROMOTE)
    assert not tokens.has_scope(token, Scope.APPROVE)
    tokens.require_scope(token, Scope.PROMOTE)
    with pytest.raises(PermissionDenied, match="Approve or reject"):
        tokens.require_scope(token, Scope.APPROVE)
    tokens.require_scope(None, Scope.MANAGE)  # a browser session is limited by its user alone


@pytest.mark.parametrize(
    ("name", "scopes", "days", "message"),
    [
        ("", ["read"], None, "name"),
        ("x" * 61, ["read"], None, "60 characters"),
        ("ci", [], None, "at least one scope"),
        ("ci", ["root"], None, "Unknown scope root"),
        ("ci", ["read"], 0, "1 to 3650 days"),
        ("ci", ["read"], 4000, "1 to 3650 days"),
    ],
)
def test_it_refuses_bad_input_and_creates_nothing(developer, name, scopes, days, message):
    with pytest.raises(ValidationError, match=message):
        tokens.create_token(developer, name, scopes, days)
    assert not AccessToken.objects.exists()


def test_a_live_name_is_unique_per_user_but_a_revoked_one_frees_it(developer, release_manager):
    first, _ = tokens.create_token(developer, "ci-main", ["read"])
    with pytest.raises(ValidationError, match="already has a token"):
        tokens.create_token(developer, "ci-main", ["read"])
    tokens.create_token(release_manager, "ci-main", ["read"])  # another user's may share it
    tokens.revoke(first, developer)
    tokens.create_token(developer, "ci-main", ["read"])


def test_it_attributes_what_is_done_through_a_token(developer, release_manager):
    token, _ = tokens.create_token(developer, "ci-main", ["read"])
    assert tokens.attribution(developer) == ""
    with tokens.using(token):
        assert tokens.attribution(developer) == " (via token ci-main)"
        assert tokens.attribution(release_manager) == ""  # not the token's user
        event = AuditEvent.record(developer, "changed", token)
    assert event.via_token == "ci-main"
    assert tokens.current() is None
    assert AuditEvent.record(developer, "changed", token).via_token == ""


def test_the_bearer_header_is_parsed_strictly():
    assert tokens.bearer("Bearer rmp_abc") == "rmp_abc"
    assert tokens.bearer("bearer  rmp_abc ") == "rmp_abc"
    assert tokens.bearer("Basic dXNlcjpwYXNz") is None
    assert tokens.bearer("Bearer ") is None
