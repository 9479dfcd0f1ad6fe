"""Sending one delivery: an email through Django's backend, or a POST to a webhook endpoint.

The message formats: Slack's incoming webhooks (`text` with mrkdwn links), Microsoft Teams'
workflow webhooks (an Adaptive Card), and a generic JSON body signed with HMAC-SHA256 over the
exact bytes sent (`X-Releasemgr-Signature-256: sha256=<hex>`, as GitHub signs its webhooks).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.urls import reverse

from instances.notifications import safeurl
from instances.notifications.models import Channel, Delivery, Endpoint, Event, WebhookFormat

USER_AGENT = "releasemgr-notifications"


class SendFailed(Exception):
    """This attempt failed; `status` is the receiver's HTTP status when it answered."""

    def __init__(self, message: str, status: int | None = None, permanent: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.permanent = permanent


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(event: Event) -> dict[str, Any]:
    title = _slack_escape(event.title)
    text = _slack_escape(event.text)
    return {"text": f"<{event.url}|{title}>" + (f"\n{text}" if text else "")}


def teams_body(event: Event) -> dict[str, Any]:
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": event.title, "weight": "Bolder", "wrap": True},
            {"type": "TextBlock", "text": event.text, "wrap": True},
        ],
        "actions": [{"type": "Action.OpenUrl", "title": "Open in releasemgr", "url": event.url}],
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def generic_body(event: Event, delivery: Delivery) -> dict[str, Any]:
    return {
        "delivery": delivery.pk,
        "event": event.kind,
        "title": event.title,
        "text": event.text,
        "url": event.url,
        "occurred_at": event.created_at.isoformat(),
        "data": event.data,
    }


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_request(delivery: Delivery, endpoint: Endpoint) -> tuple[bytes, dict[str, str]]:
    event = delivery.event
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Releasemgr-Event": event.kind,
        "X-Releasemgr-Delivery": str(delivery.pk),
    }
    if endpoint.format == WebhookFormat.SLACK:
        payload = slack_body(event)
    elif endpoint.format == WebhookFormat.TEAMS:
        payload = teams_body(event)
    else:
        payload = generic_body(event, delivery)
    body = json.dumps(payload, separators=(",", ":")).encode()
    if endpoint.format == WebhookFormat.GENERIC and endpoint.secret:
        headers["X-Releasemgr-Signature-256"] = sign(endpoint.secret.reveal(), body)  # type: ignore[attr-defined]
    return body, headers


def send_webhook(delivery: Delivery) -> int:
    endpoint = delivery.endpoint
    if endpoint is None:
        raise SendFailed("The endpoint was deleted.", permanent=True)
    body, headers = webhook_request(delivery, endpoint)
    try:
        answer = safeurl.post(endpoint.url, body, headers)
    except safeurl.UnsafeURL as exc:
        raise SendFailed(str(exc), permanent=True) from None
    except Exception as exc:  # timeouts, refused connections, TLS errors: all worth a retry
        raise SendFailed(f"{exc.__class__.__name__}: {exc}") from None
    if not 200 <= answer.status < 300:
        detail = answer.body.strip()[:300]
        raise SendFailed(
            f"The endpoint answered {answer.status}" + (f": {detail}" if detail else "."),
            status=answer.status,
        )
    return answer.status


def send_email(delivery: Delivery) -> None:
    event = delivery.event
    manage = settings.SITE_URL + reverse("subscription_list")
    body = (
        f"{event.title}\n\n{event.text}\n\n{event.url}\n\n-- \n"
        f"You get this because of your subscriptions: {manage}\n"
    )
    message = EmailMessage(
        subject=f"[releasemgr] {event.title}"[:250],
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.recipient],
        headers={"X-Releasemgr-Event": event.kind},
        connection=get_connection(timeout=settings.EMAIL_TIMEOUT),
    )
    try:
        message.send()
    except Exception as exc:  # smtplib's errors, refused connections, timeouts
        raise SendFailed(f"{exc.__class__.__name__}: {exc}") from None


def send(delivery: Delivery) -> int | None:
    """One attempt; raises SendFailed. Returns the HTTP status for webhooks."""
    if delivery.channel == Channel.EMAIL:
        send_email(delivery)
        return None
    return send_webhook(delivery)
