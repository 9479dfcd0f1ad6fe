"""Mirrors of remote repositories: clone, fetch and push over file, git, http(s) and ssh.

With a remote, the remote is the source of truth and the local bare repository is a cache any
worker can rebuild: `fetch` makes the local branches what the remote says they are, and `push`
never forces: it sends the old head the caller expects, so the remote's own ref update is the
compare-and-swap, and a branch that moved meanwhile comes back as `RemoteMoved` ("retry from
the fetch"), never as a lost merge.
"""

from __future__ import annotations

import logging
import os
import shlex
from collections.abc import Callable, Iterator, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import urllib3
from dulwich.client import (
    GitClient,
    HTTPUnauthorized,
    LocalGitClient,
    SSHGitClient,
    Urllib3HttpGitClient,
    default_urllib3_manager,
)
from dulwich.config import ConfigDict
from dulwich.errors import GitProtocolError, HangupException, NotGitRepository
from dulwich.objects import ZERO_SHA, ObjectID
from dulwich.refs import Ref
from dulwich.repo import Repo

from branching.git.errors import BROKEN_OBJECT_ERRORS
from branching.git.guarded import GuardedTCPGitClient, guarded_pools
from branching.git.storage import IdLike, ObjectId, hex_id, init_bare
from branching.git.transport import (
    RemotePolicy,
    RemoteRefused,
    checked_addresses,
    display_url,
    local_path,
    parse_remote_url,
    url_problem,
)
from branching.refnames import branch_name_problem

logger = logging.getLogger(__name__)

_HEADS = b"refs/heads/"
# Branches that exist only in the local cache (a promotion's temporary branch) and that a fetch
# must neither create nor delete.
LOCAL_ONLY_PREFIX = "releasemgr/"


class RemoteError(Exception):
    """The remote could not be reached or refused us; the message is safe to show a user."""


class RemoteMoved(RemoteError):
    """The remote branch is not where we expected: fetch again and retry."""

    def __init__(self, branch: str, expected: str | None, actual: str | None) -> None:
        self.branch, self.expected, self.actual = branch, expected, actual
        super().__init__(
            f"The remote branch “{branch}” moved to {(actual or 'nothing')[:12]} while we "
            f"expected {(expected or 'nothing')[:12]}; fetch again and retry."
        )


@dataclass(frozen=True)
class Remote:
    """Where a repository lives and how to sign in to it. `repr` never shows the password."""

    url: str
    username: str = ""
    password: str = field(default="", repr=False)
    ssh_key_file: str = ""
    # Host keys the ssh client accepts; without one, ssh's own known_hosts. Never a prompt.
    known_hosts_file: str = ""
    # Extra certificate authorities for https remotes (verification is always on).
    ca_bundle: str = ""

    # Where it may connect and how long it waits (transport.py); strict unless loosened.
    policy: RemotePolicy = RemotePolicy()

    def display_url(self) -> str:
        return display_url(self.url)

    def client(self) -> tuple[GitClient, str]:
        """A client for this remote, after every rule of `transport` has been checked; the
        network clients connect only to the addresses checked here."""
        problem = url_problem(self.url, self.policy)
        if problem:
            raise RemoteError(f"Cannot use the remote {self.display_url()}: {problem}")
        parsed = parse_remote_url(self.url)
        if parsed.scheme == "file":
            return LocalGitClient(), local_path(self.url, self.policy)
        policy = self.policy
        try:
            addresses = checked_addresses(parsed.host, parsed.effective_port, policy)
        except RemoteRefused as exc:
            raise RemoteError(f"Cannot use the remote {self.display_url()}: {exc}") from None
        if parsed.scheme in ("http", "https"):
            config = ConfigDict()
            if self.ca_bundle:
                config.set((b"http",), b"sslCAInfo", self.ca_bundle.encode())
            manager = default_urllib3_manager(config)
            assert isinstance(manager, urllib3.PoolManager)  # no auth callbacks were given
            manager.pool_classes_by_scheme = guarded_pools(policy)
            manager.connection_pool_kw["timeout"] = urllib3.Timeout(
                connect=policy.connect_timeout, read=policy.read_timeout
            )
            manager.connection_pool_kw["retries"] = False
            base = self.url[: len(self.url) - len(parsed.path)] if parsed.path else self.url
            client = Urllib3HttpGitClient(
                base.rstrip("/") + "/",
                pool_manager=manager,
                config=config,
                username=self.username or None,
                password=self.password or None,
                quiet=True,
            )
            return client, parsed.path
        if parsed.scheme == "git":
            tcp = GuardedTCPGitClient(addresses, parsed.host, parsed.port, policy, quiet=True)
            return tcp, parsed.path
        if self.password:
            raise RemoteError(
                f"{self.display_url()}: ssh remotes sign in with a key (GIT_SSH_KEY_FILE), not a "
                "password; clear the repository's secret, or use an https:// URL."
            )
        ssh = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"]
        ssh += ["-o", f"ConnectTimeout={max(1, round(policy.connect_timeout))}"]
        ssh += ["-o", f"ServerAliveInterval={max(1, round(policy.read_timeout / 3))}"]
        ssh += ["-o", "ServerAliveCountMax=3"]
        if self.known_hosts_file:
            ssh += ["-o", f"UserKnownHostsFile={self.known_hosts_file}"]
        address = addresses[0]
        if address != parsed.host.strip("[]"):
            # Connect to the address just checked; look the host key up under the name.
            alias = parsed.host if parsed.effective_port == 22 else f"[{parsed.host}]:{parsed.port}"
            ssh += ["-o", f"HostKeyAlias={alias}"]
        return (
            SSHGitClient(
                address,
                port=parsed.port,
                username=parsed.user or self.username or None,
                key_filename=self.ssh_key_file or None,
                ssh_command=shlex.join(ssh),
                quiet=True,
            ),
            parsed.path,
        )


def _errors(remote: Remote) -> Callable[[Exception], RemoteError]:
    """Every failure below us, as a RemoteError whose message is safe to show: no secret, and
    not the server's own text (an http server answering a page instead of git could say
    anything)."""

    def translate(exc: Exception) -> RemoteError:
        where = remote.display_url()
        timeouts = (remote.policy.connect_timeout, remote.policy.read_timeout)
        if isinstance(exc, RemoteError):
            return exc
        if isinstance(exc, HTTPUnauthorized):
            return RemoteError(f"{where} refused the credentials (HTTP 401).")
        if isinstance(exc, NotGitRepository):
            return RemoteError(f"{where} is not a git repository.")
        if isinstance(exc, HangupException):
            return RemoteError(f"{where} hung up (is the URL right, and may we reach it?).")
        if isinstance(exc, RemoteRefused):
            return RemoteError(f"Cannot use the remote {where}: {exc}")
        if _timed_out(exc):
            return RemoteError(
                f"{where} did not answer in time (connect timeout {timeouts[0]:g} s, read "
                f"timeout {timeouts[1]:g} s)."
            )
        if isinstance(exc, urllib3.exceptions.HTTPError):
            return RemoteError(
                f"{where} could not be reached over http(s): {_redacted(remote, exc)}"
            )
        if isinstance(exc, (GitProtocolError, OSError)):
            return RemoteError(f"{where}: {_redacted(remote, exc)}")
        if isinstance(exc, BROKEN_OBJECT_ERRORS):
            return RemoteError(f"{where} sent an incomplete or damaged pack.")
        if isinstance(exc, ValueError):
            # dulwich's answer to an http server that speaks something else than git.
            return RemoteError(f"{where} did not answer like a git server.")
        logger.exception("Unexpected error talking to %s", where)
        return RemoteError(f"{where}: unexpected {exc.__class__.__name__} talking to the remote.")

    return translate


def _timed_out(exc: BaseException) -> bool:
    """Whether a timeout is at the root of `exc` (dulwich wraps socket and urllib3 timeouts)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, (TimeoutError, urllib3.exceptions.TimeoutError)):
            return True
        reason = getattr(seen, "reason", None)
        if isinstance(reason, (TimeoutError, urllib3.exceptions.TimeoutError)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _redacted(remote: Remote, exc: Exception) -> str:
    message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    if remote.password:
        message = message.replace(remote.password, "••••")
    return message[:300]


def fetch(repo: Repo, remote: Remote) -> dict[str, ObjectId]:
    """Bring the remote's branches into `repo` and make the local heads match them exactly.

    Local-only branches (`releasemgr/…`, a promotion's temporary branch) are left alone.
    Returns the remote's heads.
    """
    try:
        client, path = remote.client()
        result = client.fetch(path, repo)
    except Exception as exc:
        raise _errors(remote)(exc) from None
    heads = {
        name[len(_HEADS) :].decode(): ObjectID(sha)
        for name, sha in result.refs.items()
        if name.startswith(_HEADS) and sha
    }
    local = {name.decode(): sha for name, sha in repo.refs.as_dict(Ref(b"refs/heads")).items()}
    # Deletions first: a branch `dev` gone upstream may be what blocks a new `dev/alice`.
    for name in local:
        if name not in heads and not name.startswith(LOCAL_ONLY_PREFIX):
            del repo.refs[Ref(_HEADS + name.encode())]
    for name, sha in heads.items():
        if branch_name_problem(name) is None and local.get(name) != sha:
            repo.refs[Ref(_HEADS + name.encode())] = sha
    return heads


def clone(path: str | os.PathLike[str], remote: Remote) -> Repo:
    """Create (or refresh) the local bare cache of `remote` at `path`."""
    repo = init_bare(Path(path))
    fetch(repo, remote)
    return repo


def push(repo: Repo, remote: Remote, branch: str, new: IdLike, expected_old: IdLike | None) -> None:
    """Move the remote `branch` from `expected_old` (None: it must not exist) to `new`.

    Never forced: when the remote branch is elsewhere, raises `RemoteMoved` and changes nothing.
    """
    ref = Ref(_HEADS + branch.encode())
    new_id = ObjectID(hex_id(new).encode())
    expected = hex_id(expected_old) if expected_old is not None else None
    seen: dict[str, str | None] = {}

    def update_refs(refs: dict[Ref, ObjectID]) -> dict[Ref, ObjectID]:
        current = refs.get(ref)
        actual = current.decode() if current and current != ZERO_SHA else None
        seen["actual"] = actual
        if actual == new_id.decode():
            return {}  # already there: a retried push does nothing
        if actual != expected:
            return {}
        return {ref: new_id}

    def generate_pack_data(
        have: Set[ObjectID],
        want: Set[ObjectID],
        *,
        ofs_delta: bool = False,
        progress: Callable[..., None] | None = None,
        **kwargs: Any,
    ) -> tuple[int, Iterator[Any]]:
        return repo.generate_pack_data(set(have), set(want), progress=progress, ofs_delta=ofs_delta)

    try:
        client, path = remote.client()
        result = client.send_pack(path.encode(), update_refs, generate_pack_data)
    except Exception as exc:
        raise _errors(remote)(exc) from None
    actual = seen.get("actual")
    if actual != new_id.decode() and actual != expected:
        raise RemoteMoved(branch, expected, actual)
    error = (result.ref_status or {}).get(ref)
    if error:
        # The server refused the update: with our old head in the command, that means it moved.
        raise (
            RemoteMoved(branch, expected, None)
            if "stale" in error or "lock" in error
            else RemoteError(f"{remote.display_url()} refused to update {branch}: {error}")
        )
