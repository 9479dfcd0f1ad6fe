"""Roles: two groups and the superuser flag.

- Developers read everything (and, with the promotion engine, request promotions).
- Release managers also manage repositories, instances and org connections.
- Admins are superusers.
A signed-in user in neither group sees a "no access" page and no data.
"""

from collections.abc import Callable

from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.models import User as AuthUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

RELEASE_MANAGERS = "Release managers"
DEVELOPERS = "Developers"
ROLE_GROUPS = (RELEASE_MANAGERS, DEVELOPERS)

# Paths a signed-in user without a role may still reach. The API under /api/ refuses such a
# user itself, with a problem document (instances/api/auth.py) rather than this page.
_OPEN_PREFIXES = ("/accounts/", "/healthz", "/static/", "/admin/", "/api/")

User = AuthUser | AnonymousUser


def group_names(user: User) -> set[str]:
    """The user's group names, fetched once per request object."""
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_releasemgr_groups", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._releasemgr_groups = cached  # type: ignore[attr-defined]
    return cached


def is_admin(user: User) -> bool:
    return bool(user.is_authenticated and user.is_superuser)


def is_release_manager(user: User) -> bool:
    return is_admin(user) or RELEASE_MANAGERS in group_names(user)


def is_developer(user: User) -> bool:
    return DEVELOPERS in group_names(user)


def has_any_role(user: User) -> bool:
    return is_release_manager(user) or is_developer(user)


def role_label(user: User) -> str:
    if is_admin(user):
        return "Admin"
    if is_release_manager(user):
        return "Release manager"
    if is_developer(user):
        return "Developer"
    return "No role"


class RoleRequiredMiddleware:
    """Signed-in users without a role get the "no access" page (403) instead of data.

    Login itself is required by Django's LoginRequiredMiddleware, placed before this one.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user: User = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(_OPEN_PREFIXES)
            and not has_any_role(user)
        ):
            return render(request, "no_access.html", status=403)
        return self.get_response(request)


def roles(request: HttpRequest) -> dict[str, object]:
    """Template context: what the signed-in user may do, for showing or hiding actions."""
    user: User = request.user
    return {
        "can_manage": is_release_manager(user),
        "role_label": role_label(user),
    }
