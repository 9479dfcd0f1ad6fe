"""The request type every view receives, and small response helpers."""

import json
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

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


PROBLEM_JSON = "application/problem+json"


def problem_response(
    request: HttpRequest,
    status: int,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> HttpResponse:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.path,
        **extra,
    }
    response = HttpResponse(json.dumps(body), status=status, content_type=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def content_length(request: HttpRequest) -> int:
    """The length the request declares for its body (0 when it declares none); ValueError,
    with the sentence to answer, when the header is not a number of bytes."""
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not (length.isascii() and length.isdigit()):
        raise ValueError(f"Content-Length {length!r} is not a number of bytes.")
    return int(length)
