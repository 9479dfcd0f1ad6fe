"""Personal access tokens: create, authenticate, check scopes, attribute, revoke.

A token reads `rmp_<prefix>_<secret>`: the 12-character prefix finds the row, the SHA-256 of the
whole token is compared in constant time, and the secret (256 random bits) is never stored. A
token authenticates as its user and never carries more than that user may do; its scopes narrow
it further (`require_scope`). While a call made with a token runs, `using(token)` lets the audit
trail and the promotion log say "via token <name>".

This is the public face of tokens for every part of releasemgr (the API, git over HTTP): import
these functions, not the model's fields.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from releasemgr.models import AccessToken, AuditEvent, Scope

PREFIX = "rmp_"
_LOOKUP_LENGTH = 12
MAX_EXPIRY_DAYS = 3650
# last_used_at is written at most this often per token, so a busy CI job is not a write storm.
TOUCH_EVERY = timedelta(seconds=60)

_current: ContextVar[AccessToken | None] = ContextVar("releasemgr_access_token", default=None)


class InvalidToken(Exception):  # noqa: N818 - reads as "raise InvalidToken(why)"
    """The token cannot be used; the message says why, for the caller who presented it."""


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _split(raw: str) -> str | None:
    """The lookup prefix of a well-formed token, else None."""
    if not raw.startswith(PREFIX) or len(raw) < len(PREFIX) + _LOOKUP_LENGTH + 20:
        return None
    lookup = raw[len(PREFIX) : len(PREFIX) + _LOOKUP_LENGTH]
    if raw[len(PREFIX) + _LOOKUP_LENGTH] != "_" or not all(c in "0123456789abcdef" for c in lookup):
        return None
    return lookup


# --------------------------------------------------------------------------- create and revoke


def clean_scopes(scopes: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(scopes))
    unknown = [s for s in chosen if s not in Scope.values]
    if unknown:
        raise ValidationError(
            f"Unknown scope {', '.join(unknown)}; the scopes are {', '.join(Scope.values)}."
        )
    if not chosen:
        raise ValidationError("Choose at least one scope.")
    # Stored in the order of Scope, so two tokens with the same scopes read the same.
    return [s for s in Scope.values if s in chosen]


def create_token(
    user: User,
    name: str,
    scopes: Iterable[str],
    expires_in_days: int | None = None,
    *,
    by: User | None = None,
) -> tuple[AccessToken, str]:
    """A new token for `user` and the raw token, which exists nowhere else: show it once."""
    name = name.strip()
    if not name:
        raise ValidationError("Give the token a name, such as “ci-main”.")
    if len(name) > 60:
        raise ValidationError("A token name has at most 60 characters.")
    chosen = clean_scopes(scopes)
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise ValidationError(f"A token expires after 1 to {MAX_EXPIRY_DAYS} days, or never.")
    if not user.is_active:
        raise ValidationError(f"The user “{user}” is inactive.")
    if AccessToken.objects.filter(user=user, name=name, revoked_at__isnull=True).exists():
        raise ValidationError(
            f"{user} already has a token named “{name}”; revoke it or pick another."
        )
    expires_at = (
        timezone.now() + timedelta(days=expires_in_days) if expires_in_days is not None else None
    )
    for _ in range(5):
        lookup = secrets.token_hex(_LOOKUP_LENGTH // 2)
        raw = f"{PREFIX}{lookup}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                token = AccessToken.objects.create(
                    user=user,
                    name=name,
                    prefix=lookup,
                    digest=digest(raw),
                    scopes=chosen,
                    expires_at=expires_at,
                )
                AuditEvent.record(
                    by or user,
                    "created",
                    token,
                    {"scopes": ", ".join(chosen), "expires": _day(expires_at)},
                )
        except IntegrityError:
            if AccessToken.objects.filter(user=user, name=name, revoked_at__isnull=True).exists():
                raise ValidationError(f"{user} already has a token named “{name}”.") from None
            continue  # the prefix was taken: draw again
        return token, raw
    raise RuntimeError("Could not draw an unused token prefix.")


def _day(at: Any) -> str:
    return at.date().isoformat() if at is not None else "never"


def revoke(token: AccessToken, by: User) -> bool:
    """Revoke the token; False when it already was (two clicks, or two admins, at once)."""
    now = timezone.now()
    with transaction.atomic():
        updated = AccessToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if updated:
            token.revoked_at = now
            AuditEvent.record(by, "revoked", token)
    return bool(updated)


# --------------------------------------------------------------------------- authenticate


def verify(raw: str, address: str | None = None) -> AccessToken:
    """The live token `raw` names, its user loaded; raise InvalidToken saying why not."""
    lookup = _split(raw.strip())
    if lookup is None:
        raise InvalidToken("That is not a releasemgr access token.")
    token = AccessToken.objects.select_related("user").filter(prefix=lookup).first()
    # Compare even when no row matched, so timing does not tell a known prefix from an unknown.
    expected = token.digest if token is not None else digest("")
    if not hmac.compare_digest(expected, digest(raw.strip())) or token is None:
        raise InvalidToken("The access token is not valid.")
    now = timezone.now()
    if token.revoked_at is not None:
        raise InvalidToken(f"The access token “{token.name}” was revoked.")
    if token.expires_at is not None and token.expires_at <= now:
        raise InvalidToken(
            f"The access token “{token.name}” expired on {token.expires_at:%Y-%m-%d %H:%M} UTC."
        )
    if not token.user.is_active:
        raise InvalidToken(f"The user of the access token “{token.name}” is inactive.")
    if (
        token.last_used_at is None
        or now - token.last_used_at >= TOUCH_EVERY
        or (address and address != token.last_used_from)
    ):
        AccessToken.objects.filter(pk=token.pk).update(
            last_used_at=now, last_used_from=address or token.last_used_from
        )
    return token


def authenticate(raw: str, address: str | None = None) -> AccessToken | None:
    """The live token `raw` names (not revoked, not expired, its user active), else None."""
    try:
        return verify(raw, address)
    except InvalidToken:
        return None


def bearer(authorization: str) -> str | None:
    """The token in an `Authorization: Bearer <token>` header value, else None."""
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


# --------------------------------------------------------------------------- scopes


def has_scope(token: AccessToken, scope: Scope | str) -> bool:
    """Every scope includes reading; the others must be granted."""
    return scope == Scope.READ or scope in token.scopes


def require_scope(token: AccessToken | None, scope: Scope) -> None:
    """PermissionDenied unless the token holds `scope` (no token: a browser session, no limit)."""
    if token is not None and not has_scope(token, scope):
        raise PermissionDenied(
            f"The access token “{token.name}” does not have the “{scope.label}” scope."
        )


# --------------------------------------------------------------------------- attribution


@contextmanager
def using(token: AccessToken | None) -> Iterator[None]:
    """Within the block, what the token's user does is recorded as done via the token."""
    reset = _current.set(token)
    try:
        yield
    finally:
        _current.reset(reset)


def current() -> AccessToken | None:
    return _current.get()


def token_name_for(actor: Any) -> str:
    """The name of the token `actor` is acting through right now, or ""."""
    token = _current.get()
    if token is None or actor is None or getattr(actor, "pk", None) != token.user_id:
        return ""
    return token.name


def attribution(actor: Any) -> str:
    """ " (via token ci-main)" while `actor` acts through a token, else "": for log lines."""
    name = token_name_for(actor)
    return f" (via token {name})" if name else ""
