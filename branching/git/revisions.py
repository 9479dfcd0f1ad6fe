"""Naming commits the way people type them: `main`, `refs/tags/v1`, `main~3`, `HEAD^2`, `1a2b3c`.

`dulwich.objectspec.parse_commit` knows ref names and ids but not the `~`/`^` suffixes, so the
command line (`manage.py merge_tree`) goes through this small resolver instead. It follows
git's rules (gitrevisions(7)) for the part of the syntax that names one commit:

- a full object id; a ref name, tried as `<name>`, `refs/<name>`, `refs/tags/<name>`,
  `refs/heads/<name>`, `refs/remotes/<name>`, `refs/remotes/<name>/HEAD` (first found wins);
  an abbreviated id of 4 or more hex digits, which must name exactly one commit; `@` for HEAD;
- then any number of `~N` (N-th first-parent ancestor), `^N` (N-th parent, `^0` the commit
  itself), `^{commit}` and `^{}` (peel), where a bare `~` or `^` means 1.

Annotated tags are peeled to their commit. Anything else (`a..b`, `rev:path`, `@{…}`) is
refused with `BadRevision`, whose message says what was wrong.
"""

from __future__ import annotations

import re

from dulwich.objects import Commit, ObjectID, ShaFile, Tag
from dulwich.refs import Ref, check_ref_format
from dulwich.repo import Repo

__all__ = ["BadRevision", "resolve_commit"]

_FULL_ID = re.compile(r"^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$")
_SHORT_ID = re.compile(r"^[0-9a-fA-F]{4,63}$")
_PSEUDO_REF = re.compile(r"^(?:[A-Z][A-Z_]*_)?HEAD$")  # HEAD, FETCH_HEAD, ORIG_HEAD, MERGE_HEAD
_SUFFIX = re.compile(r"~(\d*)|\^\{(commit)?\}|\^(\d*)(?!\{)")
_MAX_PEEL = 20
# Revision arithmetic is bounded: a spec is short, and `~N`/`^N` together walk at most this many
# parents, so `main~` followed by thousands of digits is a refusal, not minutes of work (or
# Python's limit on converting long digit strings to int).
MAX_SPEC_LENGTH = 1000
MAX_STEPS = 100_000


class BadRevision(ValueError):
    """The text names no commit of this repository; the message says why."""


def resolve_commit(repo: Repo, spec: str) -> ObjectID:
    """The commit id (hex bytes) that `spec` names in `repo`."""
    text = spec.strip()
    if not text:
        raise BadRevision("An empty revision names no commit.")
    if len(text) > MAX_SPEC_LENGTH:
        raise BadRevision(f"A revision is at most {MAX_SPEC_LENGTH} characters long.")
    cut = min((i for i in (text.find("~"), text.find("^")) if i >= 0), default=len(text))
    base, suffixes = text[:cut], text[cut:]
    if not base:
        raise BadRevision(f"Bad revision “{spec}”: it names no commit before “{suffixes}”.")
    steps = _steps(suffixes, spec)  # read and bounded before any walking
    commit = _peel(repo, _base(repo, base, spec), spec)
    for kind, n in steps:
        if kind == "~":
            for _ in range(n):
                commit = _parent(repo, commit, 1, spec)
        elif kind == "^" and n:
            commit = _parent(repo, commit, n, spec)
        # ^{} and ^{commit}: already peeled to a commit.
    return commit.id


def _steps(suffixes: str, spec: str) -> list[tuple[str, int]]:
    """The `~N`/`^N`/`^{}` suffixes as (kind, count), refused if they walk too far."""
    steps: list[tuple[str, int]] = []
    position = walked = 0
    while position < len(suffixes):
        match = _SUFFIX.match(suffixes, position)
        if match is None:
            raise BadRevision(
                f"Bad revision “{spec}”: cannot read “{suffixes[position:]}” "
                "(only ~N, ^N and ^{commit} may follow a name)."
            )
        position = match.end()
        if match.group(1) is not None:
            steps.append(("~", _count(match.group(1) or "1", spec)))
        elif match.group(3) is not None:
            steps.append(("^", _count(match.group(3) or "1", spec)))
        else:
            steps.append(("{}", 0))
        walked += steps[-1][1] if steps[-1][0] == "~" else 1
        if walked > MAX_STEPS:
            raise BadRevision(
                f"Bad revision “{spec[:60]}…”: it walks more than {MAX_STEPS:,} parents."
            )
    return steps


def _count(digits: str, spec: str) -> int:
    if len(digits) > len(str(MAX_STEPS)):
        raise BadRevision(
            f"Bad revision “{spec[:60]}…”: a count after ~ or ^ is at most {MAX_STEPS:,}."
        )
    return int(digits)


def _base(repo: Repo, name: str, spec: str) -> ShaFile:
    store = repo.object_store
    if name == "@":
        name = "HEAD"
    if ":" in name:
        raise BadRevision(f"Bad revision “{spec}”: “rev:path” names a file, not a commit.")
    if _FULL_ID.match(name):
        object_id = ObjectID(name.lower().encode())
        if object_id not in store:
            raise BadRevision(f"Bad revision “{spec}”: there is no object {name} here.")
        return store[object_id]
    for candidate in _ref_candidates(name):
        try:
            object_id = repo.refs[candidate]
        except KeyError:
            continue
        return store[object_id]
    if _SHORT_ID.match(name):
        prefix = name.lower().encode()
        found = {oid for oid in store.iter_prefix(prefix) if _is_committish(repo, oid)}
        if len(found) == 1:
            return store[found.pop()]
        if len(found) > 1:
            raise BadRevision(f"Bad revision “{spec}”: the short id {name} is ambiguous.")
    raise BadRevision(f"Bad revision “{spec}”: no branch, tag or commit is called “{name}”.")


def _ref_candidates(name: str) -> list[Ref]:
    if _PSEUDO_REF.match(name):
        return [Ref(name.encode())]
    raw = name.encode("utf-8", "surrogateescape")
    candidates = [
        *([raw] if raw.startswith(b"refs/") else []),
        b"refs/" + raw,
        b"refs/tags/" + raw,
        b"refs/heads/" + raw,
        b"refs/remotes/" + raw,
        b"refs/remotes/" + raw + b"/HEAD",
    ]
    return [Ref(c) for c in candidates if check_ref_format(Ref(c))]


def _is_committish(repo: Repo, object_id: ObjectID) -> bool:
    try:
        _peel(repo, repo.object_store[object_id], "")
    except (BadRevision, KeyError):
        return False
    return True


def _peel(repo: Repo, obj: ShaFile, spec: str) -> Commit:
    for _ in range(_MAX_PEEL):
        if isinstance(obj, Commit):
            return obj
        if not isinstance(obj, Tag):
            break
        obj = repo.object_store[obj.object[1]]
    raise BadRevision(f"Bad revision “{spec}”: it names a {obj.type_name.decode()}, not a commit.")


def _parent(repo: Repo, commit: Commit, n: int, spec: str) -> Commit:
    if len(commit.parents) < n:
        which = "parent" if n == 1 else f"parent number {n}"
        raise BadRevision(
            f"Bad revision “{spec}”: commit {commit.id.decode()[:12]} has no {which}."
        )
    parent = repo.object_store[commit.parents[n - 1]]
    assert isinstance(parent, Commit)
    return parent
