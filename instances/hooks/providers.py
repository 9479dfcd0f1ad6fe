"""Each git host's way of signing a delivery and describing a push.

- GitHub: `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body>`, `X-GitHub-Event`,
  `X-GitHub-Delivery`; a push has `ref`, `before`, `after`.
- GitLab: the secret itself in `X-Gitlab-Token`, `X-Gitlab-Event: Push Hook`, the delivery in
  `Idempotency-Key` (or `X-Gitlab-Event-UUID` on older versions); a push has `object_kind`
  "push", `ref`, `before`, `after`.
- Bitbucket Cloud: `X-Hub-Signature: sha256=<HMAC-SHA256>`, `X-Event-Key: repo:push`,
  `X-Request-UUID`; a push lists `push.changes[]` with `old` and `new` branch states.
- Gitea and Forgejo: `X-Gitea-Signature` / `X-Forgejo-Signature: <HMAC-SHA256 hex>`,
  `X-Gitea-Event` / `X-Forgejo-Event`, `X-Gitea-Delivery` / `X-Forgejo-Delivery`; a push
  like GitHub's.

`HOSTS` holds these differences as data and `parse` reads them, one way for every host. The
signature or token is checked before the body is read as JSON; anything that does not
verify or parse raises `Refused` with the HTTP status to answer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs

from instances.hooks.models import Provider

_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_ZERO = re.compile(r"^0+$")
HEADS = "refs/heads/"


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Delivery:
    delivery_id: str
    event: str
    is_push: bool = False
    # [{"branch": name, "before": sha or "", "after": sha or ""}]; "" for a created/deleted side.
    changes: list[dict[str, str]] = field(default_factory=list)


def _header(headers: Mapping[str, str], *names: str) -> str:
    for name in names:
        value = headers.get(name)
        if value:
            return value.strip()
    return ""


def _require(headers: Mapping[str, str], what: str, *names: str) -> str:
    value = _header(headers, *names)
    if not value:
        raise Refused(400, f"The {what} header ({names[0]}) is missing.")
    if len(value) > 100:
        raise Refused(400, f"The {what} header is too long.")
    return value


def _hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _check_signature(given: str, expected: str, header: str) -> None:
    if not given:
        raise Refused(401, f"The delivery is not signed ({header} is missing).")
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Refused(403, f"The {header} signature does not match this repository's secret.")


def _json(body: bytes, content_type: str) -> Any:
    try:
        if content_type.startswith("application/x-www-form-urlencoded"):
            payload = parse_qs(body.decode())["payload"][-1]  # GitHub's form encoding
            return json.loads(payload)
        return json.loads(body)
    except (ValueError, KeyError, UnicodeDecodeError, RecursionError):  # nested too deep too
        raise Refused(400, "The body is not the JSON of a webhook delivery.") from None


def _sha(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _SHA.match(value):
        raise Refused(400, f"The push's {what} is not a commit id.")
    return "" if _ZERO.match(value) else value


def _ref_push(payload: Any) -> list[dict[str, str]]:
    """GitHub, GitLab, Gitea and Forgejo: one ref, its old and new commit."""
    if not isinstance(payload, dict) or not isinstance(payload.get("ref"), str):
        raise Refused(400, "The push names no ref.")
    before = _sha(payload.get("before"), "before")
    after = _sha(payload.get("after"), "after")
    ref: str = payload["ref"]
    if not ref.startswith(HEADS):
        return []  # a tag: nothing here follows tags
    return [{"branch": ref[len(HEADS) :], "before": before, "after": after}]


def _bitbucket_push(payload: Any) -> list[dict[str, str]]:
    try:
        changes = payload["push"]["changes"]
        if not isinstance(changes, list):
            raise TypeError
        result = []
        for change in changes:
            old, new = change.get("old"), change.get("new")
            side = new or old
            if side is None:
                raise TypeError
            if side.get("type") != "branch":
                continue
            name = side["name"]
            if not isinstance(name, str):
                raise TypeError
            result.append(
                {
                    "branch": name,
                    "before": _sha(old["target"]["hash"], "old commit") if old else "",
                    "after": _sha(new["target"]["hash"], "new commit") if new else "",
                }
            )
        return result
    except (KeyError, TypeError, AttributeError):
        raise Refused(400, "The push does not list its changes as Bitbucket does.") from None


def _gitlab_push(payload: Any) -> list[dict[str, str]]:
    if not isinstance(payload, dict) or payload.get("object_kind") != "push":
        raise Refused(400, "A Push Hook whose body is not a push.")
    return _ref_push(payload)


@dataclass(frozen=True)
class Host:
    """What tells one host's deliveries apart: header names (the first one named in a refusal,
    the others accepted in their order), how it signs and what its push looks like."""

    signature: tuple[str, ...]
    # "hmac": the HMAC-SHA256 hex of the body after `prefix`; "token": the secret itself.
    scheme: Literal["hmac", "token"]
    delivery: tuple[str, ...]
    event: tuple[str, ...]
    push_event: str
    changes: Callable[[Any], list[dict[str, str]]]
    prefix: str = ""


HOSTS: dict[str, Host] = {
    Provider.GITHUB: Host(
        signature=("X-Hub-Signature-256",),
        scheme="hmac",
        prefix="sha256=",
        delivery=("X-GitHub-Delivery",),
        event=("X-GitHub-Event",),
        push_event="push",
        changes=_ref_push,
    ),
    Provider.GITLAB: Host(
        signature=("X-Gitlab-Token",),
        scheme="token",
        delivery=("Idempotency-Key", "X-Gitlab-Event-UUID"),
        event=("X-Gitlab-Event",),
        push_event="Push Hook",
        changes=_gitlab_push,
    ),
    Provider.BITBUCKET: Host(
        signature=("X-Hub-Signature",),
        scheme="hmac",
        prefix="sha256=",
        delivery=("X-Request-UUID",),
        event=("X-Event-Key",),
        push_event="repo:push",
        changes=_bitbucket_push,
    ),
    Provider.GITEA: Host(
        signature=("X-Gitea-Signature", "X-Forgejo-Signature"),
        scheme="hmac",
        delivery=("X-Gitea-Delivery", "X-Forgejo-Delivery"),
        event=("X-Gitea-Event", "X-Forgejo-Event"),
        push_event="push",
        changes=_ref_push,
    ),
}


def parse(provider: str, headers: Mapping[str, str], body: bytes, secret: str) -> Delivery:
    host = HOSTS.get(provider)
    if host is None:
        raise Refused(404, f"No git host called {provider!r}.")
    expected = secret if host.scheme == "token" else host.prefix + _hmac_hex(secret, body)
    _check_signature(_header(headers, *host.signature), expected, host.signature[0])
    delivery = Delivery(
        _require(headers, "delivery id", *host.delivery),
        _require(headers, "event", *host.event),
    )
    if delivery.event == host.push_event:
        delivery.is_push = True
        delivery.changes = host.changes(_json(body, headers.get("Content-Type", "")))
    return delivery
