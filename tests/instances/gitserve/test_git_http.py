"""The real git client against releasemgr's own git service on a live server.

Clone with a token, push to a feature branch (accepted: the head moves and the feature is
stale where it was promoted), push to an instance's branch, a main branch and `releasemgr/…`
(refused with the reason, refs unchanged), a wrong token (401), no role (403).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from branching.git import storage
from instances.gitserve import views as git_views
from instances.hooks import views as hook_views
from instances.notifications import events as notification_events
from instances.notifications.models import Event, EventKind
from releasemgr import tokens
from tests.conftest import make_user
from tests.instances.promotions.helpers import commit_to, make_promotion, promote, start

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def git(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        "GIT_AUTHOR_NAME": "Dan",
        "GIT_AUTHOR_EMAIL": "dan@example.com",
        "GIT_COMMITTER_NAME": "Dan",
        "GIT_COMMITTER_EMAIL": "dan@example.com",
        "HOME": "/nonexistent",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    return subprocess.run(
        ["git", "-c", "credential.helper=", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def inline(monkeypatch):
    def run(func, *args, **kwargs):
        func(*args)

    for module in (git_views, hook_views, notification_events):
        monkeypatch.setattr(module, "async_task", run)


@pytest.fixture
def served(git_pipeline, developer, live_server, inline):
    feature = start(git_pipeline, "RM-1", "Invoice totals", developer)
    promote([feature], git_pipeline["alice"], developer)
    _, raw = tokens.create_token(developer, "laptop", ["read", "promote"])
    host = live_server.url.removeprefix("http://")
    url = f"http://{developer.username}:{raw}@{host}/git/acme.git"
    return git_pipeline, feature, url, live_server.url


def branch_head(repository, branch: str) -> str:
    with storage.open_repo(repository.local_path) as repo:
        head = storage.branch_head(repo, branch)
        return storage.hex_id(head) if head else ""


def test_a_developer_clones_and_pushes_to_their_feature(served, tmp_path, client_for):
    pipeline, feature, url, _ = served
    work = tmp_path / "work"
    ok(git("clone", "--branch", feature.branch, url, work))
    (work / "force-app/main/default/classes/Invoice.cls").write_text("public class Invoice { }\n")
    ok(git("commit", "-qam", "Totals", cwd=work))
    pushed = ok(git("rev-parse", "HEAD", cwd=work))

    ok(git("push", "origin", feature.branch, cwd=work))

    assert branch_head(pipeline["repo"], feature.branch) == pushed
    page = client_for("developer").get(f"/features/{feature.key}/").content.decode()
    assert f'id="presence-{pipeline["alice"].pk}" class="presence-stale"' in page
    stale = Event.objects.get(kind=EventKind.FEATURE_STALE)
    assert stale.title == "RM-1 moved on: stale in Dev Alice"

    # A new feature/… branch may be created; fetching brings what others pushed.
    ok(git("push", "origin", "HEAD:refs/heads/feature/RM-2-next", cwd=work))
    assert branch_head(pipeline["repo"], "feature/RM-2-next") == pushed
    ok(git("fetch", "origin", cwd=work))


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        (
            "integration",
            "integration is the branch of instance Integration: only promotions move it",
        ),
        ("main", "main is a main branch: only promotions move it"),
        ("releasemgr/x", "releasemgr/… branches belong to promotions in progress"),
        ("hotfix/quick", "only feature/… branches can be pushed"),
    ],
)
def test_pushes_to_other_branches_are_refused_with_the_reason(served, tmp_path, target, reason):
    pipeline, feature, url, _ = served
    work = tmp_path / "work"
    ok(git("clone", "--branch", feature.branch, url, work))
    (work / "new.txt").write_text("x\n")
    ok(git("add", ".", cwd=work))
    ok(git("commit", "-qm", "sneak", cwd=work))
    before = {b: branch_head(pipeline["repo"], b) for b in ("integration", "main", target)}

    result = git("push", "origin", f"HEAD:refs/heads/{target}", cwd=work)

    assert result.returncode != 0
    assert f"[remote rejected] HEAD -> {target} ({reason})" in result.stderr
    assert {b: branch_head(pipeline["repo"], b) for b in before} == before


def test_someone_elses_feature_is_refused(served, tmp_path, git_pipeline):
    pipeline, feature, url, base = served
    other = make_user("bea-dev", "Developers")
    _, raw = tokens.create_token(other, "laptop", ["read", "promote"])
    host = base.removeprefix("http://")
    work = tmp_path / "work"
    ok(git("clone", "--branch", feature.branch, f"http://bea-dev:{raw}@{host}/git/acme.git", work))
    (work / "new.txt").write_text("x\n")
    ok(git("add", ".", cwd=work))
    ok(git("commit", "-qm", "not mine", cwd=work))
    before = branch_head(pipeline["repo"], feature.branch)
    result = git("push", "origin", feature.branch, cwd=work)
    assert "is the branch of RM-1, owned by dan-dev" in result.stderr
    assert branch_head(pipeline["repo"], feature.branch) == before


def test_a_wrong_token_is_401_and_no_role_is_403(served, tmp_path, outsider):
    import urllib.error
    import urllib.request

    pipeline, feature, url, base = served
    host = base.removeprefix("http://")
    result = git("clone", f"http://dan-dev:rmp_nonsense@{host}/git/acme.git", tmp_path / "a")
    assert result.returncode != 0 and "Authentication failed" in result.stderr
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"{base}/git/acme.git/info/refs?service=git-upload-pack")  # noqa: S310
    assert error.value.code == 401
    assert error.value.headers["WWW-Authenticate"].startswith("Basic")

    _, raw = tokens.create_token(outsider, "t", ["read"])
    result = git("clone", f"http://{outsider.username}:{raw}@{host}/git/acme.git", tmp_path / "b")
    assert result.returncode != 0 and "403" in result.stderr
    # A token used under another user's name is no better than a wrong one.
    result = git("clone", f"http://dan-dev:{raw}@{host}/git/acme.git", tmp_path / "c")
    assert result.returncode != 0 and "Authentication failed" in result.stderr
    result = git("ls-remote", url.replace("acme.git", "nowhere.git"))
    assert result.returncode != 0 and "not found" in result.stderr.lower()


def test_a_read_only_token_clones_but_does_not_push(served, tmp_path, developer):
    pipeline, feature, url, base = served
    _, raw = tokens.create_token(developer, "ci", ["read"])
    host = base.removeprefix("http://")
    work = tmp_path / "work"
    ok(git("clone", "--branch", feature.branch, f"http://dan-dev:{raw}@{host}/git/acme.git", work))
    (work / "x.txt").write_text("x\n")
    ok(git("add", ".", cwd=work))
    ok(git("commit", "-qm", "x", cwd=work))
    before = branch_head(pipeline["repo"], feature.branch)
    result = git("push", "origin", feature.branch, cwd=work)
    assert result.returncode != 0 and "403" in result.stderr
    assert branch_head(pipeline["repo"], feature.branch) == before


def test_a_push_over_the_size_limit_is_refused(served, tmp_path, settings):
    pipeline, feature, url, _ = served
    settings.GIT_PUSH_MAX_BYTES = 20_000
    work = tmp_path / "work"
    ok(git("clone", "--branch", feature.branch, url, work))
    (work / "big.bin").write_bytes(os.urandom(200_000))
    ok(git("add", ".", cwd=work))
    ok(git("commit", "-qm", "big", cwd=work))
    before = branch_head(pipeline["repo"], feature.branch)
    result = git("push", "origin", feature.branch, cwd=work)
    assert result.returncode != 0
    assert branch_head(pipeline["repo"], feature.branch) == before


def test_tags_and_deletions_are_refused(served, tmp_path):
    pipeline, feature, url, _ = served
    work = tmp_path / "work"
    ok(git("clone", "--branch", feature.branch, url, work))
    ok(git("tag", "v1", cwd=work))
    result = git("push", "origin", "v1", cwd=work)
    assert "[remote rejected] v1 -> v1 (only branches can be pushed here" in result.stderr
    before = branch_head(pipeline["repo"], feature.branch)
    result = git("push", "origin", f":{feature.branch}", cwd=work)
    assert "branches are not deleted over git here" in result.stderr
    assert branch_head(pipeline["repo"], feature.branch) == before
    with storage.open_repo(pipeline["repo"].local_path) as repo:
        assert b"refs/tags/v1" not in repo.refs.as_dict()


@pytest.fixture
def integration_for_rms(served, release_manager):
    """Integration holds a merge of its own; one view grant keeps developers out of it."""
    from django.contrib.auth.models import Group

    from instances.models import Capability, InstanceGrant
    from releasemgr.roles import RELEASE_MANAGERS

    pipeline, feature, url, base = served
    own = commit_to(pipeline["integration"], {"integration-only.txt": b"only here\n"})
    # A promotion into Integration in progress, with its temporary branch.
    running = make_promotion(pipeline["integration"], [feature], release_manager)
    running.temp_branch = f"releasemgr/promotion-{running.pk}"
    running.save(update_fields=["temp_branch"])
    with storage.open_repo(pipeline["repo"].local_path) as repo:
        storage.create_branch(repo, running.temp_branch, own)
    InstanceGrant.objects.create(
        instance=pipeline["integration"],
        capability=Capability.VIEW,
        group=Group.objects.get(name=RELEASE_MANAGERS),
    )
    _, raw = tokens.create_token(release_manager, "laptop", ["read", "promote"])
    host = base.removeprefix("http://")
    manager_url = f"http://{release_manager.username}:{raw}@{host}/git/acme.git"
    return pipeline, feature, url, manager_url


def test_a_developer_kept_out_of_an_instance_cannot_fetch_or_push_its_branch(
    integration_for_rms, tmp_path
):
    pipeline, feature, url, manager_url = integration_for_rms
    hidden_head = branch_head(pipeline["repo"], "integration")
    assert hidden_head != branch_head(pipeline["repo"], feature.branch)  # a commit of its own

    # Not advertised: ls-remote, a clone, a fetch by name or by commit find nothing.
    advertised = ok(git("ls-remote", url))
    assert "refs/heads/integration" not in advertised and hidden_head not in advertised
    assert "releasemgr/promotion-" not in advertised
    assert f"refs/heads/{feature.branch}" in advertised and "refs/heads/qa" in advertised
    result = git("clone", "--branch", "integration", url, tmp_path / "hidden")
    assert result.returncode != 0 and "integration not found" in result.stderr
    work = tmp_path / "work"
    ok(git("clone", "--branch", feature.branch, url, work))
    assert git("fetch", "origin", "integration", cwd=work).returncode != 0
    assert git("fetch", "origin", hidden_head, cwd=work).returncode != 0
    assert git("cat-file", "-e", hidden_head, cwd=work).returncode != 0

    # A push to it is refused without naming the instance, and moves nothing.
    (work / "new.txt").write_text("x\n")
    ok(git("add", ".", cwd=work))
    ok(git("commit", "-qm", "sneak", cwd=work))
    result = git("push", "origin", "HEAD:refs/heads/integration", cwd=work)
    assert result.returncode != 0
    assert (
        "[remote rejected] HEAD -> integration (only feature/… branches can be pushed)"
        in result.stderr
    )
    assert "Integration" not in result.stderr
    assert branch_head(pipeline["repo"], "integration") == hidden_head

    # Those who may see Integration fetch it as before.
    seen = ok(git("ls-remote", manager_url))
    assert f"{hidden_head}\trefs/heads/integration" in seen
    assert f"{hidden_head}\trefs/heads/releasemgr/promotion-" in seen
    ok(git("clone", "--branch", "integration", manager_url, tmp_path / "manager"))


def test_only_the_smart_protocol_is_served(served):
    import base64
    import urllib.error
    import urllib.request

    pipeline, feature, url, base = served
    credentials = url.removeprefix("http://").split("@", 1)[0]
    head = branch_head(pipeline["repo"], feature.branch)
    auth = {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}
    smart = urllib.request.Request(  # noqa: S310
        f"{base}/git/acme.git/info/refs?service=git-upload-pack", headers=auth
    )
    with urllib.request.urlopen(smart) as answer:  # noqa: S310
        assert answer.headers["Content-Type"] == "application/x-git-upload-pack-advertisement"
    for dumb in ["info/refs", f"objects/{head[:2]}/{head[2:]}", "objects/info/packs", "HEAD"]:
        request = urllib.request.Request(f"{base}/git/acme.git/{dumb}", headers=auth)  # noqa: S310
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request)  # noqa: S310
        assert refused.value.code == 403, dumb
        assert b"smart HTTP" in refused.value.read()


def _raw_request(base: str, path: str, body: bytes | None, headers: dict[str, str]):
    """A request over the live server's socket, headers as given (http.client sends what it
    is told: a Content-Length that is not a number included)."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest("POST" if body is not None else "GET", path)
        for name, value in headers.items():
            connection.putheader(name, value)
        if body is not None and "Content-Length" not in headers:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


HOSTILE_GIT = [
    # (service, body, extra headers, words of the answer)
    ("git-upload-pack", b"garbage that is not pkt-lines", {}, b"Invalid pkt-line length"),
    ("git-upload-pack", b"ffffwant", {}, b"does not match length prefix"),
    ("git-upload-pack", b"0004", {}, b"an empty pkt-line"),
    ("git-upload-pack", b"0032want " + b"1" * 40 + b"\n0000", {}, b"capability"),
    ("git-upload-pack", b"not gzip", {"Content-Encoding": "gzip"}, b"Not a gzipped file"),
    ("git-receive-pack", b"00a0" + b"0" * 40 + b" refs/heads/x\x00\n0000PACK", {}, b"length"),
    ("git-receive-pack", b"garbage", {}, b"Invalid pkt-line length"),
    ("git-upload-pack", b"0000", {"Content-Length": "abc"}, b"is not a number of bytes"),
]


@pytest.mark.parametrize(("service", "body", "extra", "words"), HOSTILE_GIT)
def test_what_git_would_never_send_is_a_400_and_moves_nothing(served, service, body, extra, words):
    import base64

    pipeline, feature, url, base = served
    credentials = url.removeprefix("http://").split("@", 1)[0]
    before = branch_head(pipeline["repo"], feature.branch)
    headers = {
        "Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(),
        "Content-Type": f"application/x-{service}-request",
        **extra,
    }
    status, answer = _raw_request(base, f"/git/acme.git/{service}", body, headers)
    assert status == 400, answer[:300]
    assert answer.startswith(b"This is not a git request") or b"Content-Length" in answer
    assert words in answer
    assert branch_head(pipeline["repo"], feature.branch) == before


def test_credentials_that_are_not_base64_ascii_or_utf8_are_a_401(served):
    import base64

    _, _, _, base = served
    for value in ("é", "%%%", base64.b64encode(b"\xff\xfe:token").decode()):
        status, answer = _raw_request(
            base,
            "/git/acme.git/info/refs?service=git-upload-pack",
            None,
            {"Authorization": f"Basic {value}".encode().decode("latin-1")},
        )
        assert status == 401, (value, answer[:200])
        assert b"personal access token" in answer
