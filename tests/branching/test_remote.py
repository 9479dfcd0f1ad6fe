"""Mirrors of remote repositories over file, git and http, against real servers on loopback."""

import pytest
import trustme

from branching.git import storage
from branching.git.remote import Remote, RemoteError, RemoteMoved, clone, fetch, push
from branching.git.transport import RemotePolicy
from tests.gitservers import git, git_daemon, http_git_server, make_upstream, ssh_git_server


@pytest.fixture
def upstream(tmp_path):
    return make_upstream(tmp_path / "server")


@pytest.fixture
def loopback(tmp_path):
    """What these servers on loopback need allowed: local paths under the test's folder, plain
    http:// and git://, loopback addresses (the default policy refuses all three)."""
    return RemotePolicy(
        local_root=str(tmp_path), allow_insecure=True, allow_private=True, connect_timeout=5
    )


def heads_of(bare) -> dict[str, str]:
    out = git("-C", bare, "for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads")
    return dict(line.split() for line in out.splitlines())


@pytest.fixture(scope="session")
def tls_ca():
    return trustme.CA()


@pytest.fixture(params=["file", "git", "http", "https", "ssh"])
def remote(request, upstream, tls_ca, tmp_path, loopback):
    root = upstream.parent
    if request.param == "file":
        yield Remote(f"file://{upstream}", policy=loopback)
    elif request.param == "git":
        with git_daemon(root) as base:
            yield Remote(base + upstream.name, policy=loopback)
    elif request.param == "http":
        with http_git_server(root) as base:
            yield Remote(base + upstream.name, policy=loopback)
    elif request.param == "https":
        ca_file = tmp_path / "ca.pem"
        tls_ca.cert_pem.write_to_path(str(ca_file))
        with http_git_server(root, "bot", "token", tls=tls_ca) as base:
            yield Remote(
                base + upstream.name, "bot", "token", ca_bundle=str(ca_file), policy=loopback
            )
    else:
        with ssh_git_server(tmp_path / "ssh") as server:
            yield Remote(
                f"{server.url_prefix}{upstream}",
                ssh_key_file=server.key_file,
                known_hosts_file=server.known_hosts_file,
                policy=loopback,
            )


def test_it_clones_every_branch(tmp_path, upstream, remote):
    with clone(tmp_path / "cache.git", remote) as repo:
        local = {b: storage.hex_id(h) for b, h in storage.branch_heads(repo).items()}
    assert local == heads_of(upstream)
    git("-C", tmp_path / "cache.git", "fsck", "--strict")


def test_it_pushes_with_a_compare_and_swap(tmp_path, upstream, remote):
    with clone(tmp_path / "cache.git", remote) as repo:
        old = storage.branch_head(repo, "main")
        new = storage.commit_changes(
            repo,
            parent=old,
            changes={"b.txt": b"b\n"},
            message="third",
            author="Dev <dev@example.com>",
        )
        push(repo, remote, "main", new, expected_old=old)
        assert heads_of(upstream)["main"] == storage.hex_id(new)
        push(repo, remote, "main", new, expected_old=old)  # a retried push does nothing
        other = storage.commit_changes(
            repo,
            parent=old,
            changes={"c.txt": b"c\n"},
            message="racing",
            author="Dev <dev@example.com>",
        )
        with pytest.raises(RemoteMoved, match="moved"):
            push(repo, remote, "main", other, expected_old=old)
    assert heads_of(upstream)["main"] == storage.hex_id(new)
    git("-C", upstream, "fsck", "--strict")


def test_it_creates_a_branch_only_where_there_was_none(tmp_path, upstream, remote):
    with clone(tmp_path / "cache.git", remote) as repo:
        head = storage.branch_head(repo, "main")
        push(repo, remote, "feature/RM-1-x", head, expected_old=None)
        assert heads_of(upstream)["feature/RM-1-x"] == storage.hex_id(head)
        with pytest.raises(RemoteMoved):
            push(repo, remote, "uat", head, expected_old=None)


def test_it_makes_local_heads_follow_the_remote(tmp_path, upstream, remote):
    with clone(tmp_path / "cache.git", remote) as repo:
        storage.create_branch(repo, "releasemgr/promotion-1", storage.branch_head(repo, "main"))
        work = tmp_path / "work"
        git("clone", upstream, work)
        (work / "d.txt").write_text("d\n")
        git("add", ".", cwd=work)
        git("commit", "-m", "upstream moved", cwd=work)
        git("push", "origin", "main", ":uat", cwd=work)
        fetch(repo, remote)
        local = {b: storage.hex_id(h) for b, h in storage.branch_heads(repo).items()}
    assert local.pop("releasemgr/promotion-1")
    assert local == heads_of(upstream) and "uat" not in local


def test_it_signs_in_over_http_and_explains_a_refusal(tmp_path, upstream, loopback):
    with http_git_server(upstream.parent, "bot", "s3cret-token") as base:
        url = base + upstream.name
        with clone(
            tmp_path / "ok.git", Remote(url, "bot", "s3cret-token", policy=loopback)
        ) as repo:
            assert storage.branch_head(repo, "main")
        with pytest.raises(RemoteError, match="refused the credentials") as caught:
            clone(tmp_path / "no.git", Remote(url, "bot", "wrong-password", policy=loopback))
    assert "wrong-password" not in str(caught.value)


def test_it_refuses_an_https_server_it_cannot_verify(tmp_path, upstream, tls_ca, loopback):
    with (
        http_git_server(upstream.parent, tls=tls_ca) as base,
        pytest.raises(RemoteError, match="CERTIFICATE_VERIFY_FAILED|certificate"),
    ):
        clone(tmp_path / "x.git", Remote(base + upstream.name, policy=loopback))


def test_it_refuses_an_ssh_host_it_does_not_know(tmp_path, upstream, loopback):
    with ssh_git_server(tmp_path / "ssh") as server:
        stranger = tmp_path / "empty_known_hosts"
        stranger.write_text("")
        with pytest.raises(RemoteError):
            clone(
                tmp_path / "x.git",
                Remote(
                    f"{server.url_prefix}{upstream}",
                    ssh_key_file=server.key_file,
                    known_hosts_file=str(stranger),
                    policy=loopback,
                ),
            )


def test_it_explains_an_unreachable_remote(tmp_path, loopback):
    with pytest.raises(RemoteError):
        clone(tmp_path / "x.git", Remote("git://127.0.0.1:1/nothing.git", policy=loopback))


def test_it_never_shows_a_password_in_its_repr():
    remote = Remote("https://bot:inline@git.example.com/x.git", "bot", "s3cret")
    assert "s3cret" not in repr(remote)
    assert remote.display_url() == "https://git.example.com/x.git"
