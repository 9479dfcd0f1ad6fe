"""Each host accepts only its own signature: its header, its prefix, its scheme. A signature
made right but sent the way another host sends it is refused (the hosts differ only in these
details, so mixing them up would otherwise go unnoticed)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from instances.hooks.providers import Refused, parse

SECRET = "hook-secret-for-tests"
BODY = json.dumps({"zen": "Keep it logically awesome."}).encode()
HEX = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
IDS = {
    "github": {"X-GitHub-Delivery": "d-1", "X-GitHub-Event": "ping"},
    "gitlab": {"Idempotency-Key": "d-1", "X-Gitlab-Event": "System Hook"},
    "bitbucket": {"X-Request-UUID": "d-1", "X-Event-Key": "repo:updated"},
    "gitea": {"X-Gitea-Delivery": "d-1", "X-Gitea-Event": "ping"},
}


@pytest.mark.parametrize(
    ("provider", "signature"),
    [
        ("github", {"X-Hub-Signature-256": "sha256=" + HEX}),
        ("gitlab", {"X-Gitlab-Token": SECRET}),
        ("bitbucket", {"X-Hub-Signature": "sha256=" + HEX}),
        ("gitea", {"X-Gitea-Signature": HEX}),
        ("gitea", {"X-Forgejo-Signature": HEX}),
    ],
)
def test_its_own_signature_is_accepted(provider, signature):
    delivery = parse(provider, {**IDS[provider], **signature}, BODY, SECRET)
    assert (delivery.delivery_id, delivery.is_push) == ("d-1", False)


@pytest.mark.parametrize(
    ("provider", "signature", "status"),
    [
        ("github", {"X-Hub-Signature-256": HEX}, 403),  # Gitea's scheme: no prefix
        ("github", {"X-Hub-Signature": "sha256=" + HEX}, 401),  # Bitbucket's header
        ("github", {"X-Gitea-Signature": HEX}, 401),
        ("bitbucket", {"X-Hub-Signature": HEX}, 403),
        ("bitbucket", {"X-Hub-Signature-256": "sha256=" + HEX}, 401),  # GitHub's header
        ("gitea", {"X-Gitea-Signature": "sha256=" + HEX}, 403),  # GitHub's scheme
        ("gitea", {"X-Hub-Signature-256": "sha256=" + HEX}, 401),
        ("gitlab", {"X-Gitlab-Token": HEX}, 403),  # a signature is not the secret
        ("gitlab", {"X-Hub-Signature-256": "sha256=" + HEX}, 401),
    ],
)
def test_another_hosts_signature_is_refused(provider, signature, status):
    with pytest.raises(Refused) as refused:
        parse(provider, {**IDS[provider], **signature}, BODY, SECRET)
    assert refused.value.status == status
