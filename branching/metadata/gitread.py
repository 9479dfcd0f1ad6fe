"""Read-only git questions the package builder asks, on top of `branching.git.storage`.

Only reads: resolving a revision a person typed, and listing what changed between two trees
inside the package directories. Comparing trees goes through dulwich's `tree_changes`, which
skips identical subtrees, so a three-file change in a 20,000-file repository reads a handful
of tree objects.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass

from dulwich.diff_tree import tree_changes
from dulwich.objects import Commit, ObjectID, Tag, Tree
from dulwich.repo import Repo

from branching.git import objects
from branching.git.revisions import BadRevision, resolve_commit
from branching.git.storage import hex_id

EMPTY_TREE = objects.EMPTY_TREE.decode()  # as people type it: --from 4b825dc…
EMPTY_TREE_SHA256 = objects.EMPTY_TREE_SHA256.decode()

ADDED, MODIFIED, DELETED = "A", "M", "D"


class RevisionError(ValueError):
    """A revision that names nothing in the repository; the message says what was tried."""


@dataclass(frozen=True)
class FileChange:
    status: str  # ADDED, MODIFIED or DELETED
    path: str


def resolve_revision(repo: Repo, revision: str, *, allow_empty_tree: bool = False) -> str | None:
    """The commit id `revision` names, or None for git's empty tree (when allowed).

    Accepts what `branching.git.revisions` accepts, as `merge_tree` does: a branch, a tag,
    `HEAD`, a full or unambiguous short id, and `~N` / `^N` suffixes such as `main~2`.
    """
    revision = revision.strip()
    if not revision:
        raise RevisionError("An empty revision names nothing.")
    if revision.lower() in (EMPTY_TREE, EMPTY_TREE_SHA256):
        if allow_empty_tree:
            return None
        raise RevisionError("The empty tree can only be the starting point (--from).")
    try:
        return hex_id(resolve_commit(repo, revision))
    except BadRevision as exc:
        raise RevisionError(str(exc)) from None


def _peel(repo: Repo, object_id: bytes) -> object:
    obj = repo.object_store[ObjectID(object_id)]
    while isinstance(obj, Tag):
        obj = repo.object_store[obj.object[1]]
    return obj


def _commit(repo: Repo, object_id: bytes, label: str) -> Commit:
    obj = _peel(repo, object_id)
    if not isinstance(obj, Commit):
        raise RevisionError(f"“{label}” is not a commit.")
    return obj


def _subtree(repo: Repo, commit: str | None, folder: str) -> bytes | None:
    """The tree id of `folder` at `commit` (None: absent, or the empty tree)."""
    if commit is None:
        return None
    tree_id: bytes = _commit(repo, commit.encode(), commit).tree
    for part in [p for p in folder.split("/") if p]:
        tree = repo.object_store[ObjectID(tree_id)]
        assert isinstance(tree, Tree)
        name = part.encode("utf-8", "surrogateescape")
        if name not in tree:
            return None
        mode, tree_id = tree[name]
        if not stat.S_ISDIR(mode):
            return None
    return tree_id


def changed_files(
    repo: Repo, from_commit: str | None, to_commit: str, folders: list[str]
) -> list[FileChange]:
    """Files added, modified or deleted under `folders` (like `git diff --no-renames`).

    A folder of "" means the whole tree. Submodules are not files and are left out; a
    file replaced by a folder (or the reverse) is a delete plus adds.
    """
    changes: dict[str, str] = {}
    for folder in _outermost(folders):
        old = _subtree(repo, from_commit, folder)
        new = _subtree(repo, to_commit, folder)
        if old == new:
            continue
        base = folder.strip("/") + "/" if folder.strip("/") else ""
        for change in tree_changes(
            repo.object_store, ObjectID(old) if old else None, ObjectID(new) if new else None
        ):
            old_entry, new_entry = change.old, change.new
            old_path = _file_path(old_entry)
            new_path = _file_path(new_entry)
            if old_path and new_path and old_path == new_path:
                changes[base + new_path] = MODIFIED
                continue
            if old_path:
                changes.setdefault(base + old_path, DELETED)
            if new_path:
                path = base + new_path
                changes[path] = MODIFIED if changes.get(path) == DELETED else ADDED
    return [FileChange(status, path) for path, status in sorted(changes.items())]


def _file_path(entry: object) -> str | None:
    path = getattr(entry, "path", None)
    mode = getattr(entry, "mode", None)
    if path is None or mode is None or not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        return None
    return bytes(path).decode("utf-8", "surrogateescape")


def _outermost(folders: list[str]) -> list[str]:
    cleaned = sorted({f.strip("/") for f in folders})
    if "" in cleaned:
        return [""]
    kept: list[str] = []
    for folder in cleaned:
        if not any(folder.startswith(k + "/") for k in kept):
            kept.append(folder)
    return kept


class Snapshot:
    """The files of one commit, read folder by folder and remembered.

    The package builder asks about thousands of paths of the same commit (does it exist,
    what is in this folder, its content). Going through the storage layer's per-path lookup
    would parse the 10,000-entry `classes/` tree once per class; here each folder's tree is
    parsed once, and only the folders actually visited are read.
    """

    def __init__(self, repo: Repo, commit: str) -> None:
        self.repo = repo
        self.root: bytes = _commit(repo, commit.encode(), commit).tree
        self._folders: dict[str, dict[str, tuple[int, bytes]] | None] = {}
        self._listings: dict[str, list[str]] = {}

    def _folder(self, path: str) -> dict[str, tuple[int, bytes]] | None:
        path = path.strip("/")
        if path in self._folders:
            return self._folders[path]
        if not path:
            tree_id: bytes | None = self.root
        else:
            parent, _, name = path.rpartition("/")
            entries = self._folder(parent)
            entry = entries.get(name) if entries is not None else None
            tree_id = entry[1] if entry is not None and stat.S_ISDIR(entry[0]) else None
        found: dict[str, tuple[int, bytes]] | None = None
        if tree_id is not None:
            tree = self.repo.object_store[ObjectID(tree_id)]
            assert isinstance(tree, Tree)
            found = {
                item.path.decode("utf-8", "surrogateescape"): (item.mode, item.sha)
                for item in tree.iteritems()
            }
        self._folders[path] = found
        return found

    def _entry(self, path: str) -> tuple[int, bytes] | None:
        parent, _, name = path.strip("/").rpartition("/")
        entries = self._folder(parent)
        return entries.get(name) if entries is not None else None

    def exists(self, path: str) -> bool:
        return self._entry(path) is not None

    def read(self, path: str) -> bytes | None:
        entry = self._entry(path)
        if entry is None or not (stat.S_ISREG(entry[0]) or stat.S_ISLNK(entry[0])):
            return None
        return self.repo.object_store[ObjectID(entry[1])].as_raw_string()

    def files_under(self, path: str) -> list[str]:
        """The file itself, or every file below the folder (`git ls-tree -r`), sorted."""
        path = path.strip("/")
        if path in self._listings:
            return self._listings[path]
        entry = self._entry(path) if path else (stat.S_IFDIR, self.root)
        found: list[str] = []
        if entry is not None and stat.S_ISDIR(entry[0]):
            stack = [path]
            while stack:
                folder = stack.pop()
                for name, (mode, _) in (self._folder(folder) or {}).items():
                    child = f"{folder}/{name}" if folder else name
                    if stat.S_ISDIR(mode):
                        stack.append(child)
                    elif stat.S_ISREG(mode) or stat.S_ISLNK(mode):
                        found.append(child)
            found.sort()
        elif entry is not None and (stat.S_ISREG(entry[0]) or stat.S_ISLNK(entry[0])):
            found = [path]
        self._listings[path] = found
        return found
