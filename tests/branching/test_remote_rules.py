"""Where the server may connect for git, how long it waits, and what it says when it fails.

Against real servers on loopback: the git servers of tests/gitservers.py, a TCP server that
accepts and never answers, an http server that answers HTML instead of git.
"""

import socket
import time

import pytest

from branching.git.remote import Remote, RemoteError, clone, fetch
from branching.git.transport import RemotePolicy, url_problem
from tests.gitservers import (
    git_daemon,
    http_git_server,
    make_upstream,
    not_git_http_server,
    silent_server,
    ssh_git_server,
)

STRICT = RemotePolicy()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///srv/git/acme.git", "not allowed on this server"),
        ("/srv/git/acme.git", "not allowed on this server"),
        ("https://bot:ghp_token@github.com/acme/sf.git", "not in the URL"),
        ("https://ghp_token@github.com/acme/sf.git", "not in the URL"),
        ("ssh://git:pw@github.com/acme/sf.git", "not in the URL"),
        ("http://git.example.com/acme/sf.git", "sends everything unencrypted"),
        ("git://git.example.com/acme/sf.git", "sends everything unencrypted"),
        ("ssh://-oProxyCommand=touch@x/y", "cannot start with '-'"),
        ("-oProxyCommand=x@host:path", "cannot start with '-'"),
        ("user@-oProxyCommand=x:path", "cannot start with '-'"),
        ("ssh://-host/x", "cannot start with '-'"),
        ("https://127.0.0.1/x.git", "loopback, private or link-local"),
        ("https://10.1.2.3/x.git", "loopback, private or link-local"),
        ("https://169.254.169.254/latest/meta-data", "loopback, private or link-local"),
        ("https://[::1]/x.git", "loopback, private or link-local"),
        ("https://[::ffff:127.0.0.1]/x.git", "loopback, private or link-local"),
        ("https://host:99999/x.git", "port"),
        ("ftp://example.com/x", "Give a URL git can fetch"),
    ],
)
def test_the_strict_rules_refuse_with_a_reason(url, message):
    assert message in (url_problem(url, STRICT) or "")


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/acme/sf.git",
        "ssh://git@github.com/acme/sf.git",
        "git@github.com:acme/sf.git",
        "https://git.example.com:8443/acme/sf",
    ],
)
def test_the_strict_rules_accept_ordinary_remotes(url):
    assert url_problem(url, STRICT) is None


def test_local_paths_are_allowed_only_under_the_configured_root(tmp_path):
    policy = RemotePolicy(local_root=str(tmp_path / "git"))
    assert url_problem(f"file://{tmp_path}/git/acme.git", policy) is None
    assert url_problem(f"{tmp_path}/git/acme.git", policy) is None
    assert "must be under" in url_problem(f"file://{tmp_path}/git/../etc/x", policy)
    assert "must be under" in url_problem("/etc/passwd", policy)


def test_it_checks_the_address_at_connect_time_not_just_the_name(tmp_path):
    """`localhost` passes the URL rules (it is a name); connecting, it resolves to loopback and
    is refused before any byte is sent."""
    with silent_server() as port:
        remote = Remote(f"https://localhost:{port}/x.git")
        assert url_problem(remote.url, remote.policy) is None
        with pytest.raises(RemoteError, match="loopback, private or link-local"):
            clone(tmp_path / "x.git", remote)


def test_it_refuses_loopback_servers_unless_allowed(tmp_path):
    upstream = make_upstream(tmp_path / "server")
    with git_daemon(upstream.parent) as base:
        insecure = RemotePolicy(allow_insecure=True)
        with pytest.raises(RemoteError, match="loopback"):
            clone(tmp_path / "a.git", Remote(base + upstream.name, policy=insecure))
        allowed = RemotePolicy(allow_insecure=True, allow_private=True)
        with clone(tmp_path / "b.git", Remote(base + upstream.name, policy=allowed)) as repo:
            assert repo.refs[b"refs/heads/main"]


@pytest.mark.parametrize("scheme", ["git", "http", "https", "ssh"])
def test_a_server_that_never_answers_times_out_on_every_transport(tmp_path, scheme):
    policy = RemotePolicy(
        allow_insecure=True, allow_private=True, connect_timeout=1, read_timeout=1
    )
    with silent_server() as port:
        url = {
            "git": f"git://127.0.0.1:{port}/x.git",
            "http": f"http://127.0.0.1:{port}/x.git",
            "https": f"https://127.0.0.1:{port}/x.git",
            "ssh": f"ssh://git@127.0.0.1:{port}/x.git",
        }[scheme]
        started = time.monotonic()
        with pytest.raises(RemoteError) as caught:
            clone(tmp_path / "x.git", Remote(url, policy=policy))
        elapsed = time.monotonic() - started
    assert elapsed < 15, f"{scheme} waited {elapsed:.1f} s"
    assert "127.0.0.1" in str(caught.value)
    if scheme != "ssh":  # ssh gives up on the silent banner itself and just hangs up
        assert "did not answer in time" in str(caught.value)


def test_a_connect_that_hangs_gives_up_after_the_connect_timeout(tmp_path):
    """A listener with a full backlog: the handshake itself never completes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):  # fill the accept queue so that new SYNs go unanswered
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        policy = RemotePolicy(allow_insecure=True, allow_private=True, connect_timeout=1)
        started = time.monotonic()
        with pytest.raises(RemoteError):
            clone(tmp_path / "x.git", Remote(f"git://127.0.0.1:{port}/x.git", policy=policy))
        assert time.monotonic() - started < 15
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_an_ssh_remote_with_a_password_is_a_clear_error(tmp_path):
    upstream = make_upstream(tmp_path / "server")
    with ssh_git_server(tmp_path / "ssh") as server:
        remote = Remote(
            f"{server.url_prefix}{upstream}",
            password="hunter2",
            ssh_key_file=server.key_file,
            known_hosts_file=server.known_hosts_file,
            policy=RemotePolicy(allow_private=True),
        )
        with pytest.raises(RemoteError, match="sign in with a key") as caught:
            clone(tmp_path / "x.git", remote)
    assert "hunter2" not in str(caught.value)


def test_an_http_server_answering_something_else_than_git_is_a_clear_error(tmp_path):
    with not_git_http_server() as base:
        policy = RemotePolicy(allow_insecure=True, allow_private=True)
        with pytest.raises(RemoteError) as caught:
            clone(tmp_path / "x.git", Remote(base + "acme.git", policy=policy))
    message = str(caught.value)
    assert "hunter2" not in message and "internal wiki" not in message
    assert "127.0.0.1" in message


def test_fetch_reports_a_refused_url_as_a_remote_error(tmp_path):
    upstream = make_upstream(tmp_path / "server")
    with http_git_server(upstream.parent) as base:
        policy = RemotePolicy(allow_insecure=True, allow_private=True)
        repo = clone(tmp_path / "x.git", Remote(base + upstream.name, policy=policy))
        with repo, pytest.raises(RemoteError, match="unencrypted"):
            fetch(repo, Remote(base + upstream.name))
