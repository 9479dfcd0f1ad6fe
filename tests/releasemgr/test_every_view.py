"""Every view of every app, the new ones included: login first, then a role, then data.

The per-view tests hold the full matrix (developer, release manager, admin); this one walks the
URL configuration itself, so a view added without its checks fails here.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db


def _patterns(resolver: URLResolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


def _concrete(route: str) -> str:
    route = re.sub(r"<(?:int|id):[^>]+>", "1", route)
    route = re.sub(r"<(?:str|slug):[^>]+>", "RM-1", route)
    route = re.sub(r"<path:[^>]+>", "x", route)
    route = re.sub(r"<[^>]+>", "x", route)
    return "/" + route.lstrip("^").rstrip("$").replace("\\Z", "").replace("\\", "")


def protected_urls() -> list[str]:
    urls = []
    for route, pattern in _patterns(get_resolver()):
        callback = pattern.callback
        if route.startswith(("admin/", "static/")) or not getattr(callback, "login_required", True):
            continue  # the admin has its own login; login_not_required views are public
        if "(?P<" in route or "(?:" in route:
            continue  # regex routes (the admin's) are covered by the admin's own checks
        urls.append(_concrete(route))
    return sorted(set(urls))


def test_there_are_views_to_check():
    assert len(protected_urls()) > 30


@pytest.mark.parametrize("url", protected_urls())
def test_anonymous_and_outsiders_get_no_page(client_for, pipeline, url):
    for persona in ("anonymous", "outsider"):
        if persona == "outsider" and url.startswith("/accounts/"):
            continue  # a signed-in user without a role may still change a password, log out
        client = client_for(persona)
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code in (301, 302, 401, 403, 404, 405), (persona, url)
            if response.status_code in (301, 302):
                assert "/accounts/login/" in response["Location"], (persona, url)
