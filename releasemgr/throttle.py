"""Login throttling: repeated failed logins for a username, or from an address, lock it out.

A small limiter on Django's cache rather than django-axes: the cache is already shared by
every web process (a file cache on one machine, Redis beyond), so the counts hold across
workers without new tables, a new authentication backend or another admin section, and the
whole rule fits on a page. Both the login page and the admin's login form go through it.

The window is fixed from the first failure: at most LOGIN_FAILURE_LIMIT failures per username
(LOGIN_FAILURE_ADDRESS_LIMIT per address) in LOGIN_LOCKOUT_SECONDS; once reached, every login
for that username or from that address is refused, the right password included, until the
window has passed. A successful login clears its username's count.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger(__name__)

_PREFIX = "login-failures:"


def client_address(request: HttpRequest | None) -> str:
    """The client's address: the proxy's view of it when a trusted proxy is in front."""
    if request is None:
        return ""
    if settings.BEHIND_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded.strip():
            return forwarded.split(",")[-1].strip()  # the hop our own proxy added
    return str(request.META.get("REMOTE_ADDR", ""))


def _keys(request: HttpRequest | None, username: str) -> list[tuple[str, int]]:
    keys = []
    if username:
        digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()
        keys.append((f"{_PREFIX}user:{digest}", settings.LOGIN_FAILURE_LIMIT))
    address = client_address(request)
    if address:
        keys.append((f"{_PREFIX}addr:{address}", settings.LOGIN_FAILURE_ADDRESS_LIMIT))
    return keys


def locked_for(request: HttpRequest | None, username: str) -> int:
    """Seconds until a login for `username` from this request's address may be tried again
    (0: it may be tried now)."""
    now = time.time()
    wait = 0.0
    for key, limit in _keys(request, username):
        entry = cache.get(key)
        if entry and entry["count"] >= limit and entry["until"] > now:
            wait = max(wait, entry["until"] - now)
    return math.ceil(wait)


def record_failure(request: HttpRequest | None, username: str) -> None:
    now = time.time()
    for key, limit in _keys(request, username):
        entry = cache.get(key)
        if not entry or entry["until"] <= now:
            entry = {"count": 0, "until": now + settings.LOGIN_LOCKOUT_SECONDS}
        entry["count"] += 1
        cache.set(key, entry, timeout=math.ceil(entry["until"] - now))
        if entry["count"] == limit:
            logger.warning("Login locked out after %d failures: %s", limit, key.split(":")[1])


def clear_username(username: str) -> None:
    for key, _limit in _keys(None, username):
        cache.delete(key)


class ThrottledLoginMixin:
    """For AuthenticationForm subclasses: refuse while locked out, count the failures."""

    request: HttpRequest | None
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        username = str(self.cleaned_data.get("username") or "")
        wait = locked_for(self.request, username)
        if wait:
            minutes = max(1, math.ceil(wait / 60))
            raise forms.ValidationError(
                "Too many failed logins for this account or from this address: logins are "
                f"refused for {minutes} more minute{'s' if minutes != 1 else ''}. Try again "
                "later, or ask an admin to reset your password.",
                code="locked_out",
            )
        try:
            cleaned = super().clean()  # type: ignore[misc]
        except forms.ValidationError as exc:
            if getattr(exc, "code", None) == "invalid_login":
                record_failure(self.request, username)
            raise
        clear_username(username)
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass
