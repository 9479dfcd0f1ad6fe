"""Who calls the API: a personal access token (`Authorization: Bearer`), or a browser session.

A token authenticates as its user, so the access helpers decide as they do for the pages; its
scopes narrow what the user may do (`need`), never widen it. A session (the docs page's "Try
it out") is the user's own, with Django's CSRF check on every unsafe method.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.models import User
from django.http import HttpRequest
from django.shortcuts import render
from ninja.security import HttpBearer, SessionAuth

from instances.api import limits
from instances.api.problems import Problem
from releasemgr import tokens
from releasemgr.models import AccessToken, Scope
from releasemgr.roles import has_any_role
from releasemgr.throttle import client_address


class BearerToken(HttpBearer):
    """The token in `Authorization: Bearer`, counted against both rate limits."""

    def __call__(self, request: HttpRequest) -> Any:
        address = client_address(request)
        limits.hit("address", address, limits.per_address(), "from this address")
        header = request.headers.get("Authorization", "")
        if not header:
            return None  # perhaps a browser session: the next authenticator decides
        raw = tokens.bearer(header)
        if raw is None:
            raise Problem(
                401,
                "Send the personal access token as “Authorization: Bearer <token>”.",
                headers={"WWW-Authenticate": 'Bearer realm="releasemgr"'},
            )
        return self.authenticate(request, raw)

    def authenticate(self, request: HttpRequest, token: str) -> AccessToken:
        try:
            found = tokens.verify(token, client_address(request) or None)
        except tokens.InvalidToken as exc:
            raise Problem(
                401,
                str(exc),
                headers={"WWW-Authenticate": 'Bearer realm="releasemgr", error="invalid_token"'},
            ) from None
        limits.hit("token", str(found.pk), limits.per_token(), "with this token")
        refuse_without_role(found.user)
        request.user = found.user
        return found


def no_role(user: User) -> Problem | None:
    """403 for a user in neither role, who sees no data through a token or a session alike."""
    if has_any_role(user):
        return None
    return Problem(
        403,
        f"{user} has no role in releasemgr (neither developer nor release manager); "
        "ask an admin for access.",
    )


def refuse_without_role(user: User) -> None:
    if problem := no_role(user):
        raise problem


class Session(SessionAuth):
    """The signed-in browser's session (the docs page); CSRF is checked by ninja's cookie auth.

    Without a signed-in session there is nothing to check: the answer is a plain 401."""

    def __call__(self, request: HttpRequest) -> Any:
        if not request.user.is_authenticated:
            return None
        return super().__call__(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if isinstance(user, User):
            refuse_without_role(user)
        return user


BEARER = BearerToken()
AUTH = [BEARER, Session()]


def token_of(request: HttpRequest) -> AccessToken | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, AccessToken) else None


def acting(request: HttpRequest) -> User:
    """The signed-in user an act is done as (authentication guarantees there is one)."""
    user = request.user
    assert isinstance(user, User), "authentication runs before every operation"
    return user


def need(request: HttpRequest, scope: Scope) -> None:
    """403 unless the caller's token holds `scope` (a session is limited by its user alone)."""
    tokens.require_scope(token_of(request), scope)


def attributed(view: Callable[..., Any]) -> Callable[..., Any]:
    """Run the view with the token in force, so the audit trail and the log name it."""

    @wraps(view)
    def run(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        with tokens.using(token_of(request)):
            return view(request, *args, **kwargs)

    return run


def signed_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """For the OpenAPI document and the docs page: a session or a valid token, as every call."""

    @wraps(view)
    def run(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        from django.contrib.auth.views import redirect_to_login

        from instances.api.problems import problem_response

        if not request.user.is_authenticated:
            try:
                token = BEARER(request)
            except Problem as exc:
                return problem_response(request, exc.status, exc.detail, headers=exc.headers)
            if token is None:
                if request.path.endswith("/docs"):
                    return redirect_to_login(request.get_full_path())
                return problem_response(
                    request,
                    401,
                    "Authentication required: send a personal access token as "
                    "“Authorization: Bearer <token>”.",
                    headers={"WWW-Authenticate": 'Bearer realm="releasemgr"'},
                )
        elif isinstance(request.user, User) and (problem := no_role(request.user)):
            if request.path.endswith("/docs"):
                return render(request, "no_access.html", status=403)
            return problem_response(request, problem.status, problem.detail)
        return view(request, *args, **kwargs)

    return run
