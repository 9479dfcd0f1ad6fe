"""Requests whose URL holds a NUL character are refused before any view sees them.

PostgreSQL's text cannot hold NUL: a lookup of `feature/RM-1%00` raised in the database (a
500), where SQLite quietly found nothing. No path, name, key or search term of releasemgr has
one, so the request is a 400 that says so: a problem document (RFC 9457) under /api/, text
elsewhere. Form fields refuse NUL already (Django's CharField does), and the API's bodies go
through those forms.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from releasemgr.http import problem_response

__all__ = ["RefuseNulMiddleware"]

MESSAGE = "A URL may not hold a NUL character (%00)."


class RefuseNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.GET
        if "\0" in request.path or any(
            "\0" in key or any("\0" in value for value in query.getlist(key)) for key in query
        ):
            return _refusal(request)
        return self.get_response(request)


def _refusal(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return problem_response(request, 400, MESSAGE, instance=request.path.replace("\0", "%00"))
    return HttpResponse(MESSAGE + "\n", status=400, content_type="text/plain; charset=utf-8")
