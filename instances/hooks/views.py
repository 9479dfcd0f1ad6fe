"""The inbound webhook endpoint, and the repository's webhook page for release managers."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_q.tasks import async_task

from branching.access import get_repository_for
from branching.models import Repository
from instances.hooks import providers
from instances.hooks.models import (
    KEEP_DELIVERIES,
    HookDelivery,
    HookStatus,
    Provider,
    RepositoryHook,
)
from instances.hooks.refresh import refresh_after_delivery
from releasemgr.http import AuthedRequest, content_length
from releasemgr.models import AuditEvent


def _answer(status: int, message: str) -> JsonResponse:
    return JsonResponse({"message": message}, status=status)


@csrf_exempt  # git hosts sign their deliveries; there is no session to forge
@login_not_required
@require_POST
def receive(request: HttpRequest, provider: str, repository_id: int) -> HttpResponse:
    """Verify, record once, and queue a refresh; 4xx and no change for anything else."""
    if provider not in Provider.values:
        return _answer(404, f"No git host called {provider!r}.")
    hook = (
        RepositoryHook.objects.select_related("repository")
        .filter(repository_id=repository_id)
        .first()
    )
    if hook is None:
        return _answer(404, "No repository with webhooks at this address.")
    try:
        length = content_length(request)
    except ValueError as exc:
        return _answer(400, str(exc))
    if length > settings.HOOK_MAX_BODY_BYTES:
        return _answer(413, f"Deliveries are limited to {settings.HOOK_MAX_BODY_BYTES} bytes.")
    body = request.read(settings.HOOK_MAX_BODY_BYTES + 1)
    if len(body) > settings.HOOK_MAX_BODY_BYTES:
        return _answer(413, f"Deliveries are limited to {settings.HOOK_MAX_BODY_BYTES} bytes.")
    try:
        parsed = providers.parse(provider, request.headers, body, hook.secret.reveal())  # type: ignore[attr-defined]
    except providers.Refused as exc:
        return _answer(exc.status, exc.message)
    repository = hook.repository
    try:
        with transaction.atomic():
            delivery = HookDelivery.objects.create(
                repository=repository,
                provider=provider,
                delivery_id=parsed.delivery_id,
                event=parsed.event,
                changes=parsed.changes,
                status=HookStatus.QUEUED if parsed.is_push else HookStatus.IGNORED,
            )
            _prune(repository)
            if parsed.is_push:
                delivery_pk = delivery.pk
                transaction.on_commit(
                    lambda: async_task(
                        refresh_after_delivery, delivery_pk, task_name=f"hook-{delivery_pk}"
                    )
                )
    except IntegrityError:
        return _answer(200, f"Delivery {parsed.delivery_id} was received before; nothing to do.")
    if not parsed.is_push:
        return _answer(200, f"Received {parsed.event}; only pushes are acted on.")
    return _answer(202, "Received; the repository is being fetched.")


def _prune(repository: Repository) -> None:
    keep = HookDelivery.objects.filter(repository=repository).order_by("-id")[
        KEEP_DELIVERIES - 1 : KEEP_DELIVERIES
    ]
    oldest_kept = keep.values_list("id", flat=True).first()
    if oldest_kept is not None:
        HookDelivery.objects.filter(repository=repository, id__lt=oldest_kept).delete()


def repository_hooks(request: AuthedRequest, pk: int) -> HttpResponse:
    repository = get_repository_for(request, pk, need="change")
    return _page(request, repository, secret="")


@require_POST
def repository_hook_secret(request: AuthedRequest, pk: int) -> HttpResponse:
    """Make (or replace) the secret; this response is the only one that shows it."""
    repository = get_repository_for(request, pk, need="change")
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        hook, created = RepositoryHook.objects.update_or_create(
            repository=repository, defaults={"secret": secret}
        )
        AuditEvent.record(
            request.user,
            "webhook secret made" if created else "webhook secret replaced",
            repository,
        )
    return _page(request, repository, secret=secret)


def _page(request: AuthedRequest, repository: Repository, secret: str) -> HttpResponse:
    urls = [
        (label, request.build_absolute_uri(reverse("hook_receive", args=[value, repository.pk])))
        for value, label in Provider.choices
    ]
    return render(
        request,
        "instances/hooks/repository_hooks.html",
        {
            "repository": repository,
            "urls": urls,
            "has_secret": RepositoryHook.objects.filter(repository=repository).exists(),
            "secret": secret,
            "deliveries": HookDelivery.objects.filter(repository=repository)[:KEEP_DELIVERIES],
        },
    )
