"""/api/v1/: the API's own authentication replaces the login redirect of the pages."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import path, re_path

from instances.api.problems import problem_response
from instances.api.site import api

# Unpacked under other names: a module-level `app_name` would namespace this whole module.
_patterns, _app, _namespace = api.urls
for pattern in _patterns:
    # A token, not a session cookie, is how a CI job signs in: the API answers 401 itself.
    pattern.callback.login_required = False  # type: ignore[union-attr]


@login_not_required
def not_found(request: HttpRequest, rest: str) -> HttpResponse:
    return problem_response(request, 404, f"There is no API path /api/v1/{rest}.")


urlpatterns = [
    path("api/v1/", (_patterns, _app, _namespace)),
    re_path(r"^api/v1/(?P<rest>.*)$", not_found),
]
