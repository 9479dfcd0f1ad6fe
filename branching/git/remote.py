"""Mirrors of remote repositories: clone, fetch and push over file, git, http(s) and ssh.

With a remote, the remote is the source of truth and the local bare repository is a cache any
worker can rebuild: `fetch` makes the local branches what the remote says they are, and `push`
never forces: it sends the old head the caller expects, so the remote's own ref update is the
compare-and-swap, and a branch that moved meanwhile comes back as `RemoteMoved` ("retry from
the fetch"), never as a lost merge.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable, Iterator, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dulwich.client import GitClient, HTTPUnauthorized, get_transport_and_path
from dulwich.config import ConfigDict
from dulwich.errors import GitProtocolError, HangupException, NotGitRepository
from dulwich.objects import ZERO_SHA, ObjectID
from dulwich.refs import Ref
from dulwich.repo import Repo

from branching.git.storage import IdLike, ObjectId, hex_id, init_bare
from branching.refnames import branch_name_problem

_HEADS = b"refs/heads/"
# Branches that exist only in the local cache (a promotion's temporary branch) and that a fetch
# must neither create nor delete.
LOCAL_ONLY_PREFIX = "releasemgr/"

_SECRETS_IN_URL = re.compile(r"(?<=://)[^/@\s]+@")


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

    def display_url(self) -> str:
        return _SECRETS_IN_URL.sub("", self.url)

    def client(self) -> tuple[GitClient, str]:
        url = self.url
        if url.startswith("file://"):
            url = url[len("file://") :]
        config = ConfigDict()
        if self.ca_bundle:
            config.set((b"http",), b"sslCAInfo", self.ca_bundle.encode())
        ssh = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes"]
        if self.known_hosts_file:
            ssh += ["-o", f"UserKnownHostsFile={self.known_hosts_file}"]
        try:
            return get_transport_and_path(
                url,
                config=config,
                username=self.username or None,
                password=self.password or None,
                key_filename=self.ssh_key_file or None,
                ssh_command=shlex.join(ssh),
                quiet=True,
            )
        except ValueError as exc:
            raise RemoteError(f"Cannot use the remote {self.display_url()}: {exc}") from None


def _errors(remote: Remote) -> Callable[[Exception], RemoteError]:
    def translate(exc: Exception) -> RemoteError:
        where = remote.display_url()
        if isinstance(exc, HTTPUnauthorized):
            return RemoteError(f"{where} refused the credentials (HTTP 401).")
        if isinstance(exc, NotGitRepository):
            return RemoteError(f"{where} is not a git repository.")
        if isinstance(exc, HangupException):
            return RemoteError(f"{where} hung up (is the URL right, and may we reach it?).")
        if isinstance(exc, (GitProtocolError, OSError)):
            message = str(exc).replace(remote.password, "••••") if remote.password else str(exc)
            return RemoteError(f"{where}: {message}")
        raise exc

    return translate


def fetch(repo: Repo, remote: Remote) -> dict[str, ObjectId]:
    """Bring the remote's branches into `repo` and make the local heads match them exactly.

    Local-only branches (`releasemgr/…`, a promotion's temporary branch) are left alone.
    Returns the remote's heads.
    """
    client, path = remote.client()
    try:
        result = client.fetch(path, repo)
    except Exception as exc:
        raise _errors(remote)(exc) from None
    heads = {
        name[len(_HEADS) :].decode(): ObjectID(sha)
        for name, sha in result.refs.items()
        if name.startswith(_HEADS) and sha
    }
    local = {name.decode(): sha for name, sha in repo.refs.as_dict(Ref(b"refs/heads")).items()}
    for name, sha in heads.items():
        if branch_name_problem(name) is None and local.get(name) != sha:
            repo.refs[Ref(_HEADS + name.encode())] = sha
    for name in local:
        if name not in heads and not name.startswith(LOCAL_ONLY_PREFIX):
            del repo.refs[Ref(_HEADS + name.encode())]
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

    client, path = remote.client()
    try:
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
