"""Object ids and tree paths, the way every module of the git layer takes and gives them.

Object ids (commits, trees, blobs) are 40-character lowercase hex bytes, dulwich's own
`ObjectID`; every function also accepts an id as `str` (the way the database stores them).
Paths inside a tree are `str`, relative and "/"-separated.
"""

from __future__ import annotations

import re

from dulwich.objects import Commit, ObjectID, ShaFile, Tag, Tree
from dulwich.repo import Repo

ObjectId = ObjectID  # hex bytes (a NewType of bytes)
IdLike = bytes | str

_HEX_ID = re.compile(rb"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")


def hex_id(value: IdLike) -> str:
    """The `str` form of an id, for the database and templates."""
    return object_id(value).decode()


def object_id(value: IdLike) -> ObjectId:
    """The `ObjectId` (hex bytes) form of an id given as `str` or bytes."""
    raw = value.encode("ascii", "replace") if isinstance(value, str) else value
    raw = raw.strip().lower()
    if not _HEX_ID.match(raw):
        raise ValueError(f"Not a full hexadecimal object id: {value!r}")
    return ObjectID(raw)


def short(value: ObjectId | None) -> str:
    return value.decode()[:12] if value else "no branch"


def split_path(path: str) -> list[bytes]:
    """A tree path as components, refusing what git would refuse or could misread."""
    if not isinstance(path, str) or not path:
        raise ValueError("A path in a tree cannot be empty.")
    parts = path.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise ValueError(f"Invalid path {path!r}: empty, '.' or '..' component.")
        if part.lower() == ".git" or "\0" in part:
            raise ValueError(f"Invalid path {path!r}.")
    return [part.encode("utf-8", "surrogateescape") for part in parts]


def decode_path(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _peel(repo: Repo, value: IdLike) -> ShaFile:
    obj = repo.object_store[object_id(value)]
    while isinstance(obj, Tag):
        obj = repo.object_store[obj.object[1]]
    return obj


def commit_of(repo: Repo, commit_id: IdLike) -> Commit:
    """The commit `commit_id` names (through tags); ValueError when it names something else."""
    obj = _peel(repo, commit_id)
    if not isinstance(obj, Commit):
        raise ValueError(f"{hex_id(commit_id)} is a {obj.type_name.decode()}, not a commit.")
    return obj


def tree_of(repo: Repo, tree_or_commit: IdLike) -> ObjectId:
    """The id of the tree a commit (or tag, or tree) names."""
    obj = _peel(repo, tree_or_commit)
    if isinstance(obj, Commit):
        return obj.tree
    if isinstance(obj, Tree):
        return obj.id
    raise ValueError(f"{hex_id(tree_or_commit)} is a {obj.type_name.decode()}, not a tree.")
