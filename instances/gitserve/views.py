"""git's smart HTTP protocol (dulwich) for the local repositories, at /git/<storage>.git.

HTTP Basic with a username and a personal access token. Anyone with a role may clone and
fetch what they may see: the branches of instances hidden from them (and of promotions into
those) are not advertised and cannot be fetched, and only git's smart protocol is served (the
dumb one would hand out any object by name). A push moves only the branches `rules.refusal`
allows, and git shows the reason for each refused ref. The request body is read from the
socket as it arrives (dulwich writes a pushed pack to disk, never whole into memory) and cut
off at GIT_PUSH_MAX_BYTES; the answer is spooled to a temporary file (memory up to a
megabyte) and streamed from it.
"""

from __future__ import annotations

import base64
import gzip
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from django_q.tasks import async_task
from dulwich.errors import GitProtocolError
from dulwich.repo import Repo
from dulwich.server import Backend, ReceivePackHandler, UploadPackHandler
from dulwich.web import HTTPGitApplication

from branching.models import Repository
from instances.gitserve import rules
from instances.hooks.refresh import refresh_pushed
from releasemgr import tokens
from releasemgr.http import content_length
from releasemgr.models import Scope

# There is no scope of its own for pushing: writing to a feature branch is a developer's work,
# as requesting its promotion is, so a token needs `promote` to push (any token may fetch).
PUSH_SCOPE = Scope.PROMOTE

ZERO = b"0" * 40
SERVICES = ("git-upload-pack", "git-receive-pack")
SMART_PATHS = ("info/refs", *SERVICES)
REALM = 'Basic realm="releasemgr git", charset="UTF-8"'


def _text(status: int, message: str, **headers: str) -> HttpResponse:
    response = HttpResponse(message + "\n", status=status, content_type="text/plain")
    for name, value in headers.items():
        response[name] = value
    return response


class _OneRepository(Backend):
    """A backend that serves exactly one repository, whatever path dulwich asks for."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo

    def open_repository(self, path: str) -> Repo:
        return self.repo


class _Limited:
    """The request body, cut off (with an error) past `limit` bytes."""

    def __init__(self, stream: Any, limit: int) -> None:
        self.stream, self.left = stream, limit

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size) if size >= 0 else self.stream.read()
        self.left -= len(data)
        if self.left < 0:
            raise OSError(
                f"the push is larger than the {settings.GIT_PUSH_MAX_BYTES} bytes allowed"
            )
        return data

    def readline(self, size: int = -1) -> bytes:
        line = self.stream.readline(size)
        self.left -= len(line)
        if self.left < 0:
            raise OSError(
                f"the push is larger than the {settings.GIT_PUSH_MAX_BYTES} bytes allowed"
            )
        return line


class _Visible(Repo):
    """The repository as one user may see it: refs they may not see are not there."""

    def __init__(self, root: str, hidden: frozenset[bytes]) -> None:
        super().__init__(root)
        self.hidden_refs = hidden

    def get_refs(self) -> dict[Any, Any]:
        return {ref: sha for ref, sha in super().get_refs().items() if ref not in self.hidden_refs}


def _receive_handler(user: Any, storage: rules.Storage, pushed: list[str]) -> type:
    class Handler(ReceivePackHandler):
        def _on_update(self, ref_name: bytes, old_sha: bytes, new_sha: bytes) -> bytes | None:
            reason = rules.refusal(
                user, storage, ref_name.decode("utf-8", "replace"), new_sha == ZERO
            )
            if reason:
                return reason.encode()
            pushed.append(ref_name.decode()[len(rules.HEADS) :])
            return None

        def _receive_max_input_size(self) -> int | None:
            return settings.GIT_PUSH_MAX_BYTES

    return Handler


def _authenticate(request: HttpRequest) -> Any:
    """The token's user, or None; the Basic username must be the token's user's."""
    scheme, _, value = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, _, raw = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except ValueError:  # not base64 (binascii.Error), not ASCII, or not UTF-8 once decoded
        return None
    token = tokens.authenticate(raw, request.META.get("REMOTE_ADDR"))
    if token is None or token.user.get_username() != username:
        return None
    return token


@csrf_exempt  # git authenticates every request with a token; there is no session to forge
@login_not_required
def serve(request: HttpRequest, storage: str, path: str) -> HttpResponseBase:
    repository = Repository.objects.filter(remote_url="", storage=storage).order_by("pk").first()
    token = _authenticate(request)
    if token is None:
        return _text(
            401, "Give your username and a personal access token.", **{"WWW-Authenticate": REALM}
        )
    user = token.user
    if not user.has_perm("branching.view_repository"):
        return _text(403, "Your account has no role in releasemgr.")
    if repository is None or not (repository.local_path / "HEAD").exists():
        return _text(404, f"No repository {storage}.git here.")
    service = request.GET.get("service", "")
    if path not in SMART_PATHS or (path == "info/refs" and service not in SERVICES):
        # git's dumb protocol would hand out any object, seen or not: smart HTTP only.
        return _text(403, "Only git's smart HTTP protocol is served here.")
    pushing = path == "git-receive-pack" or service == "git-receive-pack"
    if pushing and not tokens.has_scope(token, PUSH_SCOPE):
        return _text(403, f"The access token “{token.name}” may not push.")
    try:
        length = content_length(request)
    except ValueError as exc:
        return _text(400, str(exc))
    if length > settings.GIT_PUSH_MAX_BYTES:
        return _text(413, f"Pushes are limited to {settings.GIT_PUSH_MAX_BYTES} bytes.")

    environ = dict(request.META)
    environ["PATH_INFO"] = "/" + path
    chunked = environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"
    stream: Any
    if chunked and environ.get("wsgi.input_terminated"):
        # The server (gunicorn, mod_wsgi) de-chunked the body already.
        environ.pop("HTTP_TRANSFER_ENCODING")
        stream, chunked = request.META["wsgi.input"], False
    elif chunked:
        stream = request.META["wsgi.input"]  # raw chunks: dulwich reads them itself
    else:
        stream = request  # Django's own stream, which stops at Content-Length
    if environ.pop("HTTP_CONTENT_ENCODING", "") == "gzip":
        if chunked:
            return _text(415, "Send gzip-encoded requests with a Content-Length.")
        stream = gzip.GzipFile(fileobj=stream)
    environ["wsgi.input"] = _Limited(stream, settings.GIT_PUSH_MAX_BYTES)

    pushed: list[str] = []
    answer = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 - _chunks closes it
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started["status"], started["headers"] = status, headers
        return answer.write

    storage_rules = rules.Storage.of(repository.storage_key, user)
    with _Visible(str(repository.local_path), storage_rules.hidden_refs()) as repo:
        app = HTTPGitApplication(
            _OneRepository(repo),
            handlers={
                b"git-upload-pack": UploadPackHandler,
                b"git-receive-pack": _receive_handler(user, storage_rules, pushed),
            },
        )
        refused: HttpResponse | None = None
        try:
            with tokens.using(token):
                for chunk in app(environ, start_response):
                    answer.write(chunk)
        except (GitProtocolError, AssertionError) as exc:
            # Not git talking (git's own client never sends these): a malformed pkt-line, a
            # body that is not gzip, a missing capability. dulwich's protocol reader also
            # asserts on an empty pkt-line ("0004"). The answer so far is dropped; a ref a
            # push moved before the error is still refreshed below.
            answer.close()
            what = str(exc) or "an empty pkt-line"
            refused = _text(400, f"This is not a git request git would send: {what}.")
    if pushed:
        repository_id = repository.pk
        transaction.on_commit(
            lambda: async_task(refresh_pushed, repository_id, pushed, task_name="git-push")
        )
    if refused is not None:
        return refused
    answer.seek(0)
    status = int(started.get("status", "500").split(" ", 1)[0])
    response = StreamingHttpResponse(_chunks(answer), status=status)
    for name, value in started.get("headers", []):
        response[name] = value
    return response


def _chunks(answer: IO[bytes]) -> Iterator[bytes]:
    with answer:
        while chunk := answer.read(64 * 1024):
            yield chunk
