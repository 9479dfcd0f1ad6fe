"""Inbound webhooks over real HTTP, with each git host's documented headers and payloads.

A repository on a remote (a bare repository reached over file://) has a feature present in an
instance at its first commit. Someone pushes a second commit to the remote and the host sends a
push delivery: a verified one fetches the mirror and reports the feature stale; a bad signature,
a replayed delivery id and a malformed body change nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from branching import workspace
from branching.git import storage
from branching.models import Feature, Repository
from instances.hooks import views as hook_views
from instances.hooks.models import HookDelivery, HookStatus, RepositoryHook
from instances.models import FeaturePresence
from instances.notifications import events as notification_events
from instances.notifications.models import Event, EventKind
from tests.conftest import make_instance
from tests.gitservers import git

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

SECRET = "hook-secret-for-tests"
BRANCH = "feature/RM-1"


def _hmac(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github(before: str, after: str, delivery: str, secret: str = SECRET):
    body = json.dumps(
        {
            "ref": f"refs/heads/{BRANCH}",
            "before": before,
            "after": after,
            "created": False,
            "deleted": False,
            "forced": False,
            "repository": {"full_name": "acme/salesforce"},
            "pusher": {"name": "dan"},
            "commits": [{"id": after, "message": "More work"}],
        }
    ).encode()
    return {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": delivery,
        "X-GitHub-Hook-ID": "42",
        "X-Hub-Signature-256": "sha256=" + _hmac(body, secret),
        "User-Agent": "GitHub-Hookshot/6b2c1f1",
        "Content-Type": "application/json",
    }, body


def gitlab(before: str, after: str, delivery: str, secret: str = SECRET):
    body = json.dumps(
        {
            "object_kind": "push",
            "event_name": "push",
            "before": before,
            "after": after,
            "ref": f"refs/heads/{BRANCH}",
            "checkout_sha": after,
            "user_username": "dan",
            "project": {"path_with_namespace": "acme/salesforce"},
            "commits": [{"id": after, "message": "More work"}],
            "total_commits_count": 1,
        }
    ).encode()
    return {
        "X-Gitlab-Event": "Push Hook",
        "X-Gitlab-Token": secret,
        "X-Gitlab-Event-UUID": delivery,
        "Idempotency-Key": delivery,
        "X-Gitlab-Webhook-UUID": "1b2c",
        "X-Gitlab-Instance": "https://gitlab.example.com",
        "User-Agent": "GitLab/17.5.0",
        "Content-Type": "application/json",
    }, body


def bitbucket(before: str, after: str, delivery: str, secret: str = SECRET):
    def state(sha: str) -> dict:
        return {"type": "branch", "name": BRANCH, "target": {"type": "commit", "hash": sha}}

    body = json.dumps(
        {
            "actor": {"display_name": "Dan"},
            "repository": {"full_name": "acme/salesforce"},
            "push": {
                "changes": [
                    {
                        "old": state(before),
                        "new": state(after),
                        "created": False,
                        "closed": False,
                        "forced": False,
                        "truncated": False,
                        "commits": [{"hash": after}],
                    }
                ]
            },
        }
    ).encode()
    return {
        "X-Event-Key": "repo:push",
        "X-Request-UUID": delivery,
        "X-Hook-UUID": "{4c1d}",
        "X-Attempt-Number": "1",
        "X-Hub-Signature": "sha256=" + _hmac(body, secret),
        "User-Agent": "Bitbucket-Webhooks/2.0",
        "Content-Type": "application/json",
    }, body


def gitea(before: str, after: str, delivery: str, secret: str = SECRET, name: str = "Gitea"):
    body = json.dumps(
        {
            "ref": f"refs/heads/{BRANCH}",
            "before": before,
            "after": after,
            "compare_url": "",
            "commits": [{"id": after, "message": "More work"}],
            "repository": {"full_name": "acme/salesforce"},
            "pusher": {"login": "dan"},
        }
    ).encode()
    return {
        f"X-{name}-Event": "push",
        f"X-{name}-Delivery": delivery,
        f"X-{name}-Signature": _hmac(body, secret),
        "Content-Type": "application/json",
    }, body


def forgejo(before: str, after: str, delivery: str, secret: str = SECRET):
    return gitea(before, after, delivery, secret, name="Forgejo")


PROVIDERS = {
    "github": github,
    "gitlab": gitlab,
    "bitbucket": bitbucket,
    "gitea": gitea,
    "forgejo": forgejo,
}
PATHS = {"forgejo": "gitea"}


def post(url: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def inline(monkeypatch):
    def run(func, *args, **kwargs):
        func(*args)

    monkeypatch.setattr(hook_views, "async_task", run)
    monkeypatch.setattr(notification_events, "async_task", run)


@pytest.fixture
def remote_setup(tmp_path: Path, git_repos, developer, settings):
    """An upstream with main and feature/RM-1; a Repository on it; RM-1 present in Dev Alice."""
    settings.GIT_LOCAL_ROOT = str(tmp_path)  # the remote is a bare repository on this disk
    upstream = tmp_path / "upstream.git"
    work = tmp_path / "work"
    git("init", "--bare", "-b", "main", upstream)
    git("init", "-b", "main", work)
    (work / "README.md").write_text("hello\n")
    git("add", ".", cwd=work)
    git("commit", "-m", "first", cwd=work)
    git("branch", "dev/alice", cwd=work)
    git("checkout", "-b", BRANCH, cwd=work)
    (work / "a.txt").write_text("a\n")
    git("add", ".", cwd=work)
    git("commit", "-m", "feature", cwd=work)
    first = git("rev-parse", "HEAD", cwd=work)
    git("push", upstream, "main", "dev/alice", BRANCH, cwd=work)
    repository = Repository.objects.create(name="Acme", remote_url=f"file://{upstream}")
    alice = make_instance(repository, name="Dev Alice", branch="dev/alice")
    with workspace.open_storage(repository):
        pass  # the mirror, cloned now, as the first promotion would
    feature = Feature.objects.create(
        repository=repository, key="RM-1", title="Totals", owner=developer, branch=BRANCH
    )
    FeaturePresence.objects.create(feature=feature, instance=alice, commit=first)
    RepositoryHook.objects.create(repository=repository, secret=SECRET)
    from instances.notifications.models import Subscription

    Subscription.objects.create(
        user=developer, scope="my_features", events=[EventKind.FEATURE_STALE], by_email=False
    )
    return repository, work, upstream, first


def push_more(work: Path, upstream: Path, text: str) -> str:
    (work / "a.txt").write_text(text)
    git("commit", "-am", text, cwd=work)
    git("push", upstream, BRANCH, cwd=work)
    return git("rev-parse", "HEAD", cwd=work)


def mirror_head(repository: Repository) -> str:
    with storage.open_repo(repository.local_path) as repo:
        return storage.hex_id(storage.branch_head(repo, BRANCH))


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_a_verified_push_fetches_and_reports_the_feature_stale(
    provider, live_server, remote_setup, inline, client_for
):
    repository, work, upstream, first = remote_setup
    second = push_more(work, upstream, "b\n")
    assert mirror_head(repository) == first
    url = f"{live_server.url}/hooks/{PATHS.get(provider, provider)}/{repository.pk}/"
    delivery = str(uuid.uuid4())

    status, answer = post(url, *PROVIDERS[provider](first, second, delivery))

    assert status == 202, answer
    assert mirror_head(repository) == second
    recorded = HookDelivery.objects.get()
    assert (recorded.delivery_id, recorded.status) == (delivery, HookStatus.REFRESHED)
    assert recorded.changes == [{"branch": BRANCH, "before": first, "after": second}]
    event = Event.objects.get(kind=EventKind.FEATURE_STALE)
    assert event.title == "RM-1 moved on: stale in Dev Alice"
    assert event.deliveries.count() == 0  # subscribed, but by no channel: nothing to send
    page = client_for("developer").get("/features/RM-1/").content.decode()
    assert "presence-stale" in page

    # The same delivery again: answered, and nothing happens twice.
    third = push_more(work, upstream, "c\n")
    status, answer = post(url, *PROVIDERS[provider](first, second, delivery))
    assert status == 200 and "received before" in answer["message"]
    assert mirror_head(repository) == second
    assert HookDelivery.objects.count() == 1 and Event.objects.count() == 1
    assert third != second


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_a_bad_signature_changes_nothing(provider, live_server, remote_setup, inline):
    repository, work, upstream, first = remote_setup
    second = push_more(work, upstream, "b\n")
    url = f"{live_server.url}/hooks/{PATHS.get(provider, provider)}/{repository.pk}/"
    headers, body = PROVIDERS[provider](first, second, "d-1", secret="not-the-secret")
    status, answer = post(url, headers, body)
    assert status == 403, answer
    assert "does not match" in answer["message"]
    unsigned = {k: v for k, v in headers.items() if "Signature" not in k and "Token" not in k}
    assert post(url, unsigned, body)[0] == 401
    if provider != "gitlab":  # GitLab sends the secret itself, it signs nothing
        # A body changed after signing is a bad signature too.
        headers, body = PROVIDERS[provider](first, second, "d-2")
        assert post(url, headers, body.replace(b"acme/salesforce", b"evil/salesforce"))[0] == 403
    assert mirror_head(repository) == first
    assert not HookDelivery.objects.exists() and not Event.objects.exists()


@pytest.mark.parametrize("provider", list(PROVIDERS))
def test_a_malformed_body_changes_nothing(provider, live_server, remote_setup, inline):
    repository, work, upstream, first = remote_setup
    push_more(work, upstream, "b\n")
    url = f"{live_server.url}/hooks/{PATHS.get(provider, provider)}/{repository.pk}/"
    headers, _ = PROVIDERS[provider](first, first, "m-1")
    for body in (
        b"{not json",
        b"[" * 100_000 + b"]" * 100_000,  # signed, but nested deeper than any parser goes
        json.dumps({"ref": 7}).encode(),
        b"[]",
        json.dumps(
            {
                "ref": f"refs/heads/{BRANCH}",
                "before": "x",
                "after": "y",
                "object_kind": "push",
                "push": {"changes": [{}]},
            }
        ).encode(),
    ):
        for name in headers:
            if name.endswith("Signature-256") or name == "X-Hub-Signature":
                headers[name] = "sha256=" + _hmac(body)
            elif name.endswith("-Signature"):
                headers[name] = _hmac(body)
        status, answer = post(url, headers, body)
        assert status == 400, (body, answer)
    missing_id = {
        k: v
        for k, v in headers.items()
        if "Delivery" not in k and "UUID" not in k and k != "Idempotency-Key"
    }
    assert post(url, missing_id, body)[0] == 400
    assert mirror_head(repository) == first
    assert not HookDelivery.objects.exists()


def test_unknown_hosts_repositories_and_methods_are_refused(live_server, remote_setup, inline):
    repository, *_ = remote_setup
    headers, body = github("0" * 40, "1" * 40, "x")
    assert post(f"{live_server.url}/hooks/sourceforge/{repository.pk}/", headers, body)[0] == 404
    assert post(f"{live_server.url}/hooks/github/{repository.pk + 99}/", headers, body)[0] == 404
    huge = "9" * 20  # beyond any id the database holds: the URL matches nothing
    request = urllib.request.Request(  # noqa: S310
        f"{live_server.url}/hooks/github/{huge}/", data=body, headers=headers, method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request)  # noqa: S310
    assert error.value.code == 404
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"{live_server.url}/hooks/github/{repository.pk}/")  # noqa: S310
    assert error.value.code == 405


def test_a_content_length_that_is_not_a_number_is_a_400(live_server, remote_setup, inline):
    import http.client
    from urllib.parse import urlsplit

    repository, *_ = remote_setup
    headers, body = github("0" * 40, "1" * 40, "x")
    parts = urlsplit(live_server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest("POST", f"/hooks/github/{repository.pk}/")
        for name, value in {**headers, "Content-Length": "12abc"}.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        answer = connection.getresponse()
        assert answer.status == 400
        assert b"is not a number of bytes" in answer.read()
    finally:
        connection.close()
    assert not HookDelivery.objects.exists()


def test_a_ping_is_recorded_and_ignored(live_server, remote_setup, inline):
    repository, *_ = remote_setup
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 42}).encode()
    headers = {
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": "p-1",
        "X-Hub-Signature-256": "sha256=" + _hmac(body),
        "Content-Type": "application/json",
    }
    status, _ = post(f"{live_server.url}/hooks/github/{repository.pk}/", headers, body)
    assert status == 200
    assert HookDelivery.objects.get().status == HookStatus.IGNORED


def test_only_the_last_hundred_deliveries_are_kept(live_server, remote_setup, inline):
    repository, *_ = remote_setup
    body = b"{}"
    for n in range(103):
        headers = {
            "X-GitHub-Event": "ping",
            "X-GitHub-Delivery": f"p-{n}",
            "X-Hub-Signature-256": "sha256=" + _hmac(body),
        }
        assert post(f"{live_server.url}/hooks/github/{repository.pk}/", headers, body)[0] == 200
    kept = list(HookDelivery.objects.order_by("id").values_list("delivery_id", flat=True))
    assert kept == [f"p-{n}" for n in range(3, 103)]
