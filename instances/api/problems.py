"""Errors as problem details (RFC 9457): `application/problem+json`, with the pages' messages.

Every refusal of the API goes through here: the access helpers' 404 and 403, a form's
validation errors, a domain rule's refusal (`PromotionError`, `FeatureError`), a bad or missing
token, a rate limit. Nothing else turns an exception into a response, so no traceback leaks.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as SchemaValidationError

from releasemgr.http import problem_response

logger = logging.getLogger(__name__)

# problem_response lives in releasemgr.http, where the middleware before every view answers
# with one too; the API imports it from here as before.
__all__ = [
    "Problem",
    "form_problem",
    "install",
    "problem_response",
    "refusal",
]


class Problem(Exception):
    """Answer with this status and detail; `extra` adds members (errors, conflicts)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = extra


def form_problem(form: Form) -> Problem:
    """A form's errors, with the messages the page would show beside its fields."""
    errors = {
        ("non_field" if name == "__all__" else name): [str(m) for m in messages]
        for name, messages in form.errors.items()
    }
    detail = " ".join(message for messages in errors.values() for message in messages)
    return Problem(400, detail or "The request is not valid.", errors=errors)


def refusal(exc: DjangoValidationError, status: int = 409) -> Problem:
    """A domain rule said no (the state does not allow it now): its messages, as the page says."""
    return Problem(status, " ".join(exc.messages))


def _schema_errors(exc: SchemaValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        location = [str(part) for part in error.get("loc", ())]
        if location and location[0] in ("body", "query", "path", "form"):
            location = location[1:]
        # ninja names the body parameter itself first; the field is what a client sent.
        if len(location) > 1 and location[0] in ("body", "data", "payload"):
            location = location[1:]
        errors.setdefault(".".join(location) or "request", []).append(str(error.get("msg", "")))
    return errors


def install(api: NinjaAPI) -> None:
    """Make every error of `api` a problem document."""

    def on_problem(request: HttpRequest, exc: Any) -> HttpResponse:
        return problem_response(request, exc.status, exc.detail, headers=exc.headers, **exc.extra)

    def on_not_found(request: HttpRequest, exc: Any) -> HttpResponse:
        return problem_response(request, 404, str(exc) or "Not found.")

    def on_denied(request: HttpRequest, exc: Any) -> HttpResponse:
        return problem_response(request, 403, str(exc) or "You may not do that.")

    def on_schema(request: HttpRequest, exc: Any) -> HttpResponse:
        errors = _schema_errors(exc)
        detail = " ".join(f"{where}: {'; '.join(msgs)}." for where, msgs in errors.items())
        return problem_response(request, 400, detail, errors=errors)

    def on_unauthenticated(request: HttpRequest, exc: Any) -> HttpResponse:
        return problem_response(
            request,
            401,
            "Authentication required: send a personal access token as "
            "“Authorization: Bearer <token>” (create one on /settings/tokens/).",
            headers={"WWW-Authenticate": 'Bearer realm="releasemgr"'},
        )

    def on_http_error(request: HttpRequest, exc: Any) -> HttpResponse:
        return problem_response(request, exc.status_code, str(exc))

    def on_domain(request: HttpRequest, exc: Any) -> HttpResponse:
        return problem_response(request, 409, " ".join(exc.messages))

    def on_crash(request: HttpRequest, exc: Any) -> HttpResponse:
        logger.exception("API error on %s %s", request.method, request.path)
        return problem_response(request, 500, "The server could not answer; the error is logged.")

    api.add_exception_handler(Exception, on_crash)
    api.add_exception_handler(DjangoValidationError, on_domain)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(AuthenticationError, on_unauthenticated)
    api.add_exception_handler(SchemaValidationError, on_schema)
    api.add_exception_handler(PermissionDenied, on_denied)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(Problem, on_problem)
