"""The small git layer every other part of releasemgr goes through: bare repositories on dulwich.

No git binary, no subprocess, no working tree, no `os.chdir`, no module-level state: every
function takes the repository (a dulwich `Repo`) and plain values, so two workers can use the
same storage at once and a test can point it at a temporary directory.

Conventions
- Object ids (commits, trees, blobs) are **returned as 40-character lowercase hex bytes**, which
  is dulwich's own `ObjectID`, so they pass straight on to dulwich. Every function also *accepts*
  an id as `str` (the way the database stores them); `hex_id()` gives the `str` form back.
- Branch names are `str` without `refs/heads/` ("main", "release/2027-q1"), checked with git's
  rules (`branching.refnames`); a bad name raises `ValueError` with the reason a user can read.
- Paths inside a tree are `str`, relative, "/"-separated ("force-app/main/default/classes/A.cls").
- A `Repo` holds open pack files: use it as a context manager (`with open_repo(path) as repo:`).

No reflog is written (git's default for bare repositories): who moved which branch from which
commit to which is recorded in the database's audit trail, and a reflog left behind by a
deleted `dev/alice` would stop a later `dev` from being created.

Every branch move is a compare-and-swap against the head the caller saw (docs/design.md,
invariant 3): `update_branch` raises `RefMoved` instead of overwriting a head that moved, and
waits out another writer's lock instead of failing, so no update is ever lost or silently
dropped.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TypeVar

from dulwich.errors import NotGitRepository
from dulwich.file import FileLocked
from dulwich.objects import Blob, Commit, ObjectID, ShaFile, Tag, Tree
from dulwich.refs import Ref
from dulwich.repo import Repo

from branching.git import refs
from branching.git.history import History
from branching.refnames import branch_name_problem

__all__ = [
    "DEFAULT_COMMITTER",
    "EXECUTABLE",
    "REGULAR",
    "BlobRef",
    "BranchExists",
    "BranchNameClash",
    "BranchNotFound",
    "Change",
    "FileContent",
    "IdLike",
    "ObjectId",
    "RefError",
    "RefLocked",
    "RefMoved",
    "Repo",
    "SYMLINK",
    "ahead_behind",
    "branch_head",
    "branch_heads",
    "branch_heads_named",
    "commit_changes",
    "commit_files",
    "create_branch",
    "delete_branch",
    "hex_id",
    "init_bare",
    "is_ancestor",
    "list_branches",
    "list_paths",
    "object_id",
    "open_repo",
    "pack_refs",
    "path_mode",
    "read_blob",
    "update_branch",
    "update_tree",
    "write_tree",
]

ObjectId = ObjectID  # hex bytes (a NewType of bytes)
IdLike = bytes | str

REGULAR = 0o100644
EXECUTABLE = 0o100755
SYMLINK = 0o120000
_FILE_MODES = {REGULAR, EXECUTABLE, SYMLINK}

DEFAULT_COMMITTER = "releasemgr <releasemgr@localhost>"

# Another writer holds `refs/heads/<branch>.lock` for a few milliseconds; wait for it this many
# times (exponential backoff with jitter, about two seconds in all) before giving up loudly.
LOCK_ATTEMPTS = 20
_LOCK_FIRST_DELAY = 0.005
_LOCK_MAX_DELAY = 0.15

# Up to this many new objects are written loose; more (a first import, a big merge) go in one
# pack, so that 20,000 files do not become 20,000 files under objects/.
_LOOSE_LIMIT = 200

_HEX_ID = re.compile(rb"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_IDENTITY = re.compile(r"^[^<>\n]+ <[^<>\n]*>$")
_HEADS = b"refs/heads/"
_HEADS_BASE = Ref(b"refs/heads")


# --------------------------------------------------------------------------- errors


class RefError(Exception):
    """A branch could not be changed as asked; the message says why in plain words."""


class RefMoved(RefError):
    """The branch is not where the caller last saw it: someone else moved it first.

    The caller re-reads the branch and decides again (a promotion retries from its check step);
    overwriting would lose the other writer's update.
    """

    def __init__(self, branch: str, expected: ObjectId | None, actual: ObjectId | None) -> None:
        self.branch = branch
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"Branch “{branch}” moved: expected {_short(expected)}, found {_short(actual)}."
        )


class BranchExists(RefError):
    def __init__(self, branch: str, head: ObjectId | None = None) -> None:
        self.branch = branch
        self.head = head
        super().__init__(f"Branch “{branch}” already exists.")


class BranchNameClash(RefError, ValueError):
    """git keeps `feature` as a file and `feature/x` inside a folder of that name: one name
    cannot be both a branch and a folder of branches, so the new branch cannot be created."""

    def __init__(self, branch: str, existing: str) -> None:
        self.branch = branch
        self.existing = existing
        if existing.startswith(branch + "/"):
            why = f"Branches named “{branch}/…” exist (such as “{existing}”)"
        else:
            why = f"Branch “{existing}” exists"
        super().__init__(
            f"{why}, so “{branch}” cannot be created (git cannot have a branch and a folder of "
            "branches with the same name); pick another name."
        )


class BranchNotFound(RefError, LookupError):
    def __init__(self, branch: str) -> None:
        self.branch = branch
        super().__init__(f"Branch “{branch}” does not exist.")


class RefLocked(RefError):
    """Another writer held the branch's lock file for too long (or crashed and left it)."""

    def __init__(self, branch: str, lock_path: str) -> None:
        self.branch = branch
        self.lock_path = lock_path
        super().__init__(
            f"Branch “{branch}” is locked by another writer ({lock_path}). If no releasemgr "
            "worker or git process is running, remove that file and retry."
        )


def _short(object_id: ObjectId | None) -> str:
    return object_id.decode()[:12] if object_id else "no branch"


# --------------------------------------------------------------------------- ids and paths


def hex_id(object_id: IdLike) -> str:
    """The `str` form of an id, for the database and templates."""
    return _oid(object_id).decode()


def object_id(value: IdLike) -> ObjectId:
    """The `ObjectId` (hex bytes) form of an id given as `str` or bytes."""
    return _oid(value)


def _oid(object_id: IdLike) -> ObjectId:
    raw = object_id.encode("ascii", "replace") if isinstance(object_id, str) else object_id
    raw = raw.strip().lower()
    if not _HEX_ID.match(raw):
        raise ValueError(f"Not a full hexadecimal object id: {object_id!r}")
    return ObjectID(raw)


def _split_path(path: str) -> list[bytes]:
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


def _decode_path(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _ref(branch: str) -> Ref:
    problem = branch_name_problem(branch)
    if problem:
        raise ValueError(problem)
    return Ref(_HEADS + branch.encode())


# --------------------------------------------------------------------------- repositories


def open_repo(path: str | os.PathLike[str]) -> Repo:
    """Open an existing repository; raises dulwich's `NotGitRepository` when there is none."""
    return Repo(os.fspath(path))


def init_bare(path: str | os.PathLike[str], default_branch: str = "main") -> Repo:
    """Open the bare repository at `path`, creating it first when there is none.

    Safe to call from several processes at once: the repository is initialised in a sibling
    temporary directory and renamed into place, so nobody ever opens a half-made one.
    """
    target = Path(path)
    try:
        return open_repo(target)
    except NotGitRepository:
        if target.exists() and any(target.iterdir()):
            raise ValueError(f"{target} exists and is not a git repository.") from None
    head = _ref(default_branch)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        Repo.init_bare(scratch, default_branch=head[len(_HEADS) :]).close()
        try:
            os.rename(scratch, target)
        except OSError:
            if not target.exists():
                raise
            # Another process created it first; theirs is as good as ours.
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
    return open_repo(target)


# --------------------------------------------------------------------------- objects


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
    """Write the objects the repository does not have yet (loose for a few, one pack for many)."""
    store = repo.object_store
    unique: dict[ObjectId, ShaFile] = {}
    for obj in objects:
        unique.setdefault(obj.id, obj)
    missing = [obj for object_id, obj in unique.items() if object_id not in store]
    if len(missing) > _LOOSE_LIMIT:
        store.add_objects([(obj, None) for obj in missing])
        return
    for obj in missing:
        # Two writers creating the same loose object race for its lock file; the loser waits
        # until the winner's object is there (it is the same bytes).
        _retry_locked(partial(store.add_object, obj), on_give_up=None)


def _blob_entry(
    repo: Repo, path: str, content: FileContent | BlobRef
) -> tuple[int, ObjectId, Blob | None]:
    if isinstance(content, BlobRef):
        if content.mode not in _FILE_MODES:
            raise ValueError(f"{path}: unsupported file mode {oct(content.mode)}.")
        if _oid(content.id) not in repo.object_store:
            raise ValueError(f"{path}: blob {hex_id(content.id)} is not in the repository.")
        return content.mode, _oid(content.id), None
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
        parts = _split_path(path)
        node = root
        for part in parts[:-1]:
            if part in node.files and node.files[part] is not None:
                raise ValueError(f"{path}: “{_decode_path(part)}” is also given as a file.")
            node = node.dirs.setdefault(part, _Pending())
        leaf = parts[-1]
        if change is not None and leaf in node.dirs:
            raise ValueError(f"{path} is given both as a file and as a folder.")
        node.files[leaf] = None if change is None else _blob_entry(repo, path, change)
    new_objects: list[ShaFile] = []
    base = _tree_id(repo, base_tree) if base_tree is not None else None
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
        label = where + _decode_path(name)
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
        label = where + _decode_path(name)
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
    for name, (mode, object_id) in entries.items():
        tree.add(name, mode, object_id)
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
        tree_id = _tree_id(repo, tree)
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
    parent_commit = _commit_object(repo, parent)
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
    commit.parents = [_commit_object(repo, parent).id for parent in parents]
    commit.author = _identity(author, "author")
    commit.committer = _identity(committer, "committer")
    commit.author_time = commit.commit_time = int(when.timestamp())
    commit.author_timezone = commit.commit_timezone = int(offset.total_seconds())
    commit.message = (message if message.endswith("\n") else message + "\n").encode()
    _store(repo, [commit])
    return commit.id


def _peel(repo: Repo, object_id: IdLike) -> ShaFile:
    obj = repo.object_store[_oid(object_id)]
    while isinstance(obj, Tag):
        obj = repo.object_store[obj.object[1]]
    return obj


def _commit_object(repo: Repo, commit_id: IdLike) -> Commit:
    obj = _peel(repo, commit_id)
    if not isinstance(obj, Commit):
        raise ValueError(f"{hex_id(commit_id)} is a {obj.type_name.decode()}, not a commit.")
    return obj


def _tree_id(repo: Repo, tree_or_commit: IdLike) -> ObjectId:
    obj = _peel(repo, tree_or_commit)
    if isinstance(obj, Commit):
        return obj.tree
    if isinstance(obj, Tree):
        return obj.id
    raise ValueError(f"{hex_id(tree_or_commit)} is a {obj.type_name.decode()}, not a tree.")


# --------------------------------------------------------------------------- reading


def read_blob(repo: Repo, commit: IdLike, path: str) -> bytes | None:
    """The content of `path` at `commit` (or tree), or None when there is no such file.

    Raises KeyError when the commit itself is not in the repository: a missing file is an
    answer, a missing commit is a bug or a fetch that has not happened.
    """
    parts = _split_path(path)
    tree_id = _tree_id(repo, commit)
    entry = _lookup(repo, tree_id, parts)
    if entry is None or not (stat.S_ISREG(entry[0]) or stat.S_ISLNK(entry[0])):
        return None
    blob = repo.object_store[entry[1]]
    return blob.as_raw_string() if isinstance(blob, Blob) else None


def _lookup(repo: Repo, tree_id: ObjectId, parts: list[bytes]) -> tuple[int, ObjectId] | None:
    mode, object_id = stat.S_IFDIR, tree_id
    for part in parts:
        if not stat.S_ISDIR(mode):
            return None
        tree = repo.object_store[object_id]
        if not isinstance(tree, Tree) or part not in tree:
            return None
        mode, object_id = tree[part]
    return mode, object_id


def path_mode(repo: Repo, tree_or_commit: IdLike, path: str) -> int | None:
    """The git mode of `path` (a file's or `stat.S_IFDIR` for a folder), or None when absent.

    Answers "is there a folder here" without listing what is in it.
    """
    entry = _lookup(repo, _tree_id(repo, tree_or_commit), _split_path(path.strip("/")))
    return entry[0] if entry is not None else None


def list_paths(repo: Repo, tree_or_commit: IdLike, prefix: str = "") -> list[str]:
    """Every file path under the folder `prefix` (all of them by default), sorted like git.

    Only the subtree below `prefix` is read, so listing one package directory of a large
    repository does not walk the others. A `prefix` that names a file gives just that file.
    """
    tree_id = _tree_id(repo, tree_or_commit)
    prefix = prefix.strip("/")
    start = b""
    if prefix:
        parts = _split_path(prefix)
        entry = _lookup(repo, tree_id, parts)
        if entry is None:
            return []
        if not stat.S_ISDIR(entry[0]):
            return [prefix] if stat.S_ISREG(entry[0]) or stat.S_ISLNK(entry[0]) else []
        tree_id = entry[1]
        start = b"/".join(parts) + b"/"
    found: list[bytes] = []
    stack = [(start, tree_id)]
    while stack:
        base, current = stack.pop()
        tree = repo.object_store[current]
        assert isinstance(tree, Tree)
        for item in tree.iteritems():
            if stat.S_ISDIR(item.mode):
                stack.append((base + item.path + b"/", item.sha))
            elif stat.S_ISREG(item.mode) or stat.S_ISLNK(item.mode):
                found.append(base + item.path)
    return [_decode_path(path) for path in sorted(found)]


# --------------------------------------------------------------------------- branches


T = TypeVar("T")


def _retry_locked(action: Callable[[], T], on_give_up: Callable[[], Exception] | None) -> T:
    """Run `action`, waiting out another writer's lock file (dulwich raises FileLocked)."""
    delay = _LOCK_FIRST_DELAY
    for attempt in range(LOCK_ATTEMPTS):
        try:
            return action()
        except FileLocked:
            if attempt == LOCK_ATTEMPTS - 1:
                if on_give_up is None:
                    raise
                raise on_give_up() from None
            time.sleep(delay * random.uniform(0.5, 1.5))  # noqa: S311 (jitter, not crypto)
            delay = min(delay * 2, _LOCK_MAX_DELAY)
    raise AssertionError("unreachable")


def _locked_error(repo: Repo, branch: str) -> Callable[[], Exception]:
    lock = os.path.join(repo.controldir(), "refs", "heads", *branch.split("/")) + ".lock"
    return lambda: RefLocked(branch, lock)


def branch_head(repo: Repo, branch: str) -> ObjectId | None:
    """The commit the branch points at, or None when there is no such branch.

    One lookup: the loose ref file, else the branch's line in packed-refs (`branching.git.refs`).
    """
    return refs.read_ref(repo.controldir(), _ref(branch))


def branch_heads_named(repo: Repo, names: Iterable[str]) -> dict[str, ObjectId | None]:
    """The heads of just these branches (None for a missing one): one lookup each."""
    controldir = repo.controldir()
    return {name: refs.read_ref(controldir, _ref(name)) for name in names}


def branch_heads(repo: Repo) -> dict[str, ObjectId]:
    """Every branch and its head, by name. Lists all refs: for a fetch's comparison with the
    remote and for housekeeping, never for a page or a promotion step (use `branch_head` or
    `branch_heads_named`)."""
    heads = repo.refs.as_dict(_HEADS_BASE)
    return {name.decode(): heads[name] for name in sorted(heads)}


def list_branches(repo: Repo) -> list[str]:
    """The branch names, sorted. Lists all refs, like `branch_heads`."""
    return sorted(name.decode() for name in repo.refs.keys(base=_HEADS_BASE))


def check_path_clash(repo: Repo, branch: str) -> None:
    """git stores `dev` and `dev/alice` as a file and a folder: they cannot both exist.

    Looks only at the name's own path (its prefixes and its folder), so it costs the same with
    ten branches or ten thousand.
    """
    found = refs.clash(repo.controldir(), _ref(branch))
    if found is not None:
        raise BranchNameClash(branch, found[len(_HEADS) :].decode())


def create_branch(repo: Repo, name: str, at: IdLike) -> ObjectId:
    """Create a branch at commit `at`; raises BranchExists rather than move an existing one,
    BranchNameClash when an existing branch's name is a folder of this one or the other way."""
    ref = _ref(name)
    head = _commit_object(repo, at).id
    existing = branch_head(repo, name)
    if existing is not None:
        raise BranchExists(name, existing)
    check_path_clash(repo, name)
    created = _retry_locked(
        lambda: refs.create_ref(repo.controldir(), ref, head),
        _locked_error(repo, name),
    )
    if not created:
        raise BranchExists(name, branch_head(repo, name))
    return head


def update_branch(repo: Repo, name: str, new: IdLike, expected_old: IdLike | None) -> ObjectId:
    """Move a branch to `new` only if it is still at `expected_old` (None: must not exist yet).

    The compare happens under the branch's lock file, so of two writers that read the same head
    exactly one wins and the other gets RefMoved. A writer that finds the lock taken waits and
    tries again; it never skips its update.
    """
    ref = _ref(name)
    new_id = _commit_object(repo, new).id
    controldir = repo.controldir()
    if expected_old is None:
        check_path_clash(repo, name)
        ok = _retry_locked(
            lambda: refs.create_ref(controldir, ref, new_id),
            _locked_error(repo, name),
        )
        expected = None
    else:
        expected = _oid(expected_old)
        ok = _retry_locked(
            lambda: refs.update_ref(controldir, ref, expected, new_id),
            _locked_error(repo, name),
        )
    if not ok:
        raise RefMoved(name, expected, branch_head(repo, name))
    return new_id


def delete_branch(repo: Repo, name: str, expected: IdLike | None = None) -> ObjectId:
    """Delete a branch, only if it is at `expected` when given; returns the head it had.

    Raises BranchNotFound when there is no such branch (and no `expected`), RefMoved when the
    branch is not at `expected`.
    """
    ref = _ref(name)
    wanted = _oid(expected) if expected is not None else None
    controldir = repo.controldir()
    while True:
        current = branch_head(repo, name)
        if current is None and wanted is None:
            raise BranchNotFound(name)
        old = wanted if wanted is not None else current
        assert old is not None
        ok = _retry_locked(
            partial(refs.delete_ref, controldir, ref, old),
            _locked_error(repo, name),
        )
        if ok:
            return old
        if wanted is not None:
            raise RefMoved(name, wanted, branch_head(repo, name))
        # Unconditional delete, and the branch moved between our read and our lock: again.


def pack_refs(repo: Repo) -> int:
    """Move loose branch refs into packed-refs (housekeeping); returns how many moved."""
    return refs.pack_refs(repo.controldir())


# --------------------------------------------------------------------------- history


def is_ancestor(
    repo: Repo, ancestor: IdLike, descendant: IdLike, *, history: History | None = None
) -> bool:
    """Whether `ancestor` is `descendant` or one of its ancestors ("is this commit in that branch").

    Generation numbers (`branching.git.history`) bound the walk to the commits between the two,
    so asking about a recent commit on a 10,000-commit branch reads only the recent part. Pass a
    long-lived `history` to answer from what earlier questions learnt.
    """
    target = _commit_object(repo, ancestor).id
    start = _commit_object(repo, descendant).id
    return (history or History.open(repo)).is_ancestor(target, start)


def ahead_behind(
    repo: Repo, a: IdLike, b: IdLike, *, history: History | None = None
) -> tuple[int, int]:
    """(commits in `a` not in `b`, commits in `b` not in `a`), like `git rev-list --count a...b`.

    One walk from both ends in topological order, stopping once everything still queued is
    reachable from both: the cost is the distance to the merge base, not the history.
    """
    left = _commit_object(repo, a).id
    right = _commit_object(repo, b).id
    return (history or History.open(repo)).ahead_behind(left, right)
