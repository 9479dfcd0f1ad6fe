"""Writing blobs, trees and commits: the object writer every change to a repository goes through.

Nothing here moves a branch: a new commit is published with `branches.update_branch`, where the
compare-and-swap happens.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from dulwich.objects import Blob, Commit, ShaFile, Tree
from dulwich.repo import Repo

from branching.git.freshen import freshen
from branching.git.ids import (
    IdLike,
    ObjectId,
    commit_of,
    decode_path,
    hex_id,
    object_id,
    split_path,
    tree_of,
)
from branching.git.locks import retry_locked

REGULAR = 0o100644
EXECUTABLE = 0o100755
SYMLINK = 0o120000
_FILE_MODES = {REGULAR, EXECUTABLE, SYMLINK}

DEFAULT_COMMITTER = "releasemgr <releasemgr@localhost>"

# Up to this many new objects are written loose; more (a first import, a big merge) go in one
# pack, so that 20,000 files do not become 20,000 files under objects/.
_LOOSE_LIMIT = 200

_IDENTITY = re.compile(r"^[^<>\n]+ <[^<>\n]*>$")


@dataclass(frozen=True)
class BlobRef:
    """A blob already in the repository, placed in a tree without reading its content again.

    Merges use it to take one side's version of a file as it is.
    """

    id: ObjectId
    mode: int = REGULAR


FileContent = bytes | tuple[bytes, int]
Change = bytes | tuple[bytes, int] | BlobRef | None


def _store(repo: Repo, objects: Iterable[ShaFile]) -> None:
    """Write the objects the repository does not have yet (loose for a few, one pack for many);
    those it has are freshened, so housekeeping does not prune what we just used."""
    store = repo.object_store
    unique: dict[ObjectId, ShaFile] = {}
    for obj in objects:
        unique.setdefault(obj.id, obj)
    missing = [obj for oid, obj in unique.items() if not freshen(store, oid)]
    if len(missing) > _LOOSE_LIMIT:
        store.add_objects([(obj, None) for obj in missing])
        return
    for obj in missing:
        # Two writers creating the same loose object race for its lock file; the loser waits
        # until the winner's object is there (it is the same bytes).
        retry_locked(partial(store.add_object, obj), on_give_up=None)


def _blob_entry(
    repo: Repo, path: str, content: FileContent | BlobRef
) -> tuple[int, ObjectId, Blob | None]:
    if isinstance(content, BlobRef):
        if content.mode not in _FILE_MODES:
            raise ValueError(f"{path}: unsupported file mode {oct(content.mode)}.")
        if not freshen(repo.object_store, object_id(content.id)):
            raise ValueError(f"{path}: blob {hex_id(content.id)} is not in the repository.")
        return content.mode, object_id(content.id), None
    if isinstance(content, tuple):
        data, mode = content
    else:
        data, mode = content, REGULAR
    if not isinstance(data, bytes):
        raise TypeError(f"{path}: file content must be bytes, not {type(data).__name__}.")
    if mode not in _FILE_MODES:
        raise ValueError(f"{path}: unsupported file mode {oct(mode)}.")
    blob = Blob.from_string(data)
    return mode, blob.id, blob


def write_tree(repo: Repo, files: Mapping[str, FileContent]) -> ObjectId:
    """Store a whole tree given as flat paths (content, or (content, mode)); return its id.

    For a first import or a test fixture. To change a few files of a large tree, use
    `update_tree`, which does not rebuild the untouched folders.
    """
    return update_tree(repo, None, files)


def update_tree(repo: Repo, base_tree: IdLike | None, changes: Mapping[str, Change]) -> ObjectId:
    """A new tree: `base_tree` with files added, replaced (content or `BlobRef`) or deleted (None).

    Only the folders on the changed paths are read and rewritten, so changing three files of a
    20,000-file repository touches a handful of tree objects. Deleting a folder's path deletes
    the folder; folders left empty disappear, as in git.
    """
    root = _Pending()
    for path, change in changes.items():
        parts = split_path(path)
        node = root
        for part in parts[:-1]:
            if part in node.files and node.files[part] is not None:
                raise ValueError(f"{path}: “{decode_path(part)}” is also given as a file.")
            node = node.dirs.setdefault(part, _Pending())
        leaf = parts[-1]
        if change is not None and leaf in node.dirs:
            raise ValueError(f"{path} is given both as a file and as a folder.")
        node.files[leaf] = None if change is None else _blob_entry(repo, path, change)
    new_objects: list[ShaFile] = []
    base = tree_of(repo, base_tree) if base_tree is not None else None
    tree_id = _apply(repo, base, root, "", new_objects)
    if tree_id is None:  # everything deleted: the empty tree
        empty = Tree()
        new_objects.append(empty)
        tree_id = empty.id
    _store(repo, new_objects)
    return tree_id


class _Pending:
    """The changes under one folder, grouped so each changed folder is visited once."""

    def __init__(self) -> None:
        self.files: dict[bytes, tuple[int, ObjectId, Blob | None] | None] = {}
        self.dirs: dict[bytes, _Pending] = {}


def _apply(
    repo: Repo, tree_id: ObjectId | None, pending: _Pending, where: str, out: list[ShaFile]
) -> ObjectId | None:
    entries: dict[bytes, tuple[int, ObjectId]] = {}
    if tree_id is not None:
        base = repo.object_store[tree_id]
        if not isinstance(base, Tree):
            raise ValueError(f"{where or '/'} is not a folder.")
        entries = {entry.path: (entry.mode, entry.sha) for entry in base.iteritems()}
    for name, entry in pending.files.items():
        label = where + decode_path(name)
        if entry is None:
            if name not in entries and name not in pending.dirs:
                raise ValueError(f"Cannot delete {label}: it is not in the tree.")
            entries.pop(name, None)
            continue
        mode, blob_id, blob = entry
        if name in entries and stat.S_ISDIR(entries[name][0]):
            raise ValueError(f"{label} is a folder; delete it before writing a file there.")
        if blob is not None:
            out.append(blob)
        entries[name] = (mode, blob_id)
    for name, sub in pending.dirs.items():
        label = where + decode_path(name)
        current = entries.get(name)
        if current is not None and not stat.S_ISDIR(current[0]):
            raise ValueError(f"{label} is a file; delete it before writing a folder there.")
        sub_id = _apply(repo, current[1] if current else None, sub, label + "/", out)
        if sub_id is None:
            entries.pop(name, None)
        else:
            entries[name] = (stat.S_IFDIR, sub_id)
    if not entries:
        return None
    tree = Tree()
    for name, (mode, entry_id) in entries.items():
        tree.add(name, mode, entry_id)
    out.append(tree)
    return tree.id


def _identity(value: str, what: str) -> bytes:
    if not _IDENTITY.match(value):
        raise ValueError(f"The {what} must look like 'Name <email>', not {value!r}.")
    return value.encode()


def commit_files(
    repo: Repo,
    *,
    parents: Sequence[IdLike],
    files: Mapping[str, FileContent] | None = None,
    tree: IdLike | None = None,
    message: str,
    author: str,
    committer: str = DEFAULT_COMMITTER,
    when: datetime | None = None,
) -> ObjectId:
    """Store a commit of a whole tree (`files`, or an existing `tree`) on top of `parents`.

    It moves no branch: the caller publishes it with `update_branch`, which is where the
    compare-and-swap happens. `when` (timezone-aware, default now) dates author and committer.
    """
    if files is not None and tree is None:
        tree_id = write_tree(repo, files)
    elif tree is not None and files is None:
        tree_id = tree_of(repo, tree)
    else:
        raise TypeError("Give either files or tree.")
    return _commit(repo, tree_id, parents, message, author, committer, when)


def commit_changes(
    repo: Repo,
    *,
    parent: IdLike,
    changes: Mapping[str, Change],
    message: str,
    author: str,
    committer: str = DEFAULT_COMMITTER,
    when: datetime | None = None,
) -> ObjectId:
    """Store a commit made of `parent`'s tree plus `changes` (see `update_tree`)."""
    parent_commit = commit_of(repo, parent)
    tree_id = update_tree(repo, parent_commit.tree, changes)
    return _commit(repo, tree_id, [parent_commit.id], message, author, committer, when)


def _commit(
    repo: Repo,
    tree_id: ObjectId,
    parents: Sequence[IdLike],
    message: str,
    author: str,
    committer: str,
    when: datetime | None,
) -> ObjectId:
    when = when or datetime.now(UTC)
    offset = when.utcoffset()
    if offset is None:
        raise ValueError("The commit date must be timezone-aware.")
    commit = Commit()
    commit.tree = tree_id
    commit.parents = [commit_of(repo, parent).id for parent in parents]
    commit.author = _identity(author, "author")
    commit.committer = _identity(committer, "committer")
    commit.author_time = commit.commit_time = int(when.timestamp())
    commit.author_timezone = commit.commit_timezone = int(offset.total_seconds())
    commit.message = (message if message.endswith("\n") else message + "\n").encode()
    _store(repo, [commit])
    return commit.id
