"""Reading files out of trees: one file, one path's mode, the paths under a folder.

Each reads only the trees on the way to what it is asked about, so a question about one folder
of a 20,000-file repository does not walk the others.
"""

from __future__ import annotations

import stat

from dulwich.objects import Blob, Tree
from dulwich.repo import Repo

from branching.git.ids import IdLike, ObjectId, decode_path, split_path, tree_of


def read_blob(repo: Repo, commit: IdLike, path: str) -> bytes | None:
    """The content of `path` at `commit` (or tree), or None when there is no such file.

    Raises KeyError when the commit itself is not in the repository: a missing file is an
    answer, a missing commit is a bug or a fetch that has not happened.
    """
    parts = split_path(path)
    tree_id = tree_of(repo, commit)
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
    entry = _lookup(repo, tree_of(repo, tree_or_commit), split_path(path.strip("/")))
    return entry[0] if entry is not None else None


def list_paths(repo: Repo, tree_or_commit: IdLike, prefix: str = "") -> list[str]:
    """Every file path under the folder `prefix` (all of them by default), sorted like git.

    Only the subtree below `prefix` is read, so listing one package directory of a large
    repository does not walk the others. A `prefix` that names a file gives just that file.
    """
    tree_id = tree_of(repo, tree_or_commit)
    prefix = prefix.strip("/")
    start = b""
    if prefix:
        parts = split_path(prefix)
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
    return [decode_path(path) for path in sorted(found)]
