"""The request type every view receives, and small response helpers."""

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails


class AuthedRequest(HttpRequest):
    """A request that passed LoginRequiredMiddleware and HtmxMiddleware."""

    user: User
    htmx: HtmxDetails


def redirect_after_post(request: AuthedRequest, url: str) -> HttpResponse:
    """A full-page redirect for plain forms and for forms submitted through htmx alike."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)
