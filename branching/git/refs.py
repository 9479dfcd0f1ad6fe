"""Refs by name: every read, compare-and-swap and clash check touches one name's own files.

git keeps a ref as a loose file (`refs/heads/feature/x`) or as a line of `packed-refs`. dulwich's
`DiskRefsContainer` parses the whole `packed-refs` file on every update and whenever a loose file
is missing, and packs refs without locking them (a compare-and-swap that lands between its read
and its delete is lost). With thousands of branches that makes one branch's head cost all of
them, so this module reads and writes one ref the way git does:

- a read opens the loose file, else finds the ref's line in `packed-refs` (a byte search, no
  parsing of the other lines);
- a write takes the ref's `.lock` file (dulwich's `GitFile`, the same lock git and dulwich use),
  re-reads the ref under it, and renames the new value into place;
- a clash check (`dev` blocks `dev/alice` and the other way round) looks at the name's own
  prefixes and at the folder of the name, nowhere else;
- `pack_refs` moves loose refs into `packed-refs` under each ref's lock, writing `packed-refs`
  before removing the loose files, so readers never see a ref vanish and no update is lost.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, suppress
from typing import Any

from dulwich.file import FileLocked, GitFile
from dulwich.objects import ObjectID
from dulwich.refs import read_packed_refs, read_packed_refs_with_peeled, write_packed_refs

__all__ = [
    "clash",
    "create_ref",
    "delete_ref",
    "pack_refs",
    "read_ref",
    "update_ref",
]

_PACKED = "packed-refs"
# Loose refs packed per round: each holds an open lock file, so bound them.
_PACK_BATCH = 256


def _path(controldir: str, ref: bytes) -> str:
    return os.path.join(controldir, *ref.decode().split("/"))


def _read_loose(controldir: str, ref: bytes) -> ObjectID | None:
    try:
        with open(_path(controldir, ref), "rb") as f:
            line = f.readline().strip()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    if line.startswith(b"ref: "):
        raise ValueError(f"{ref.decode()} is a symbolic ref; branches here never are.")
    return ObjectID(line) if line else None


def _packed_bytes(controldir: str) -> bytes:
    try:
        with open(os.path.join(controldir, _PACKED), "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def _read_packed(data: bytes, ref: bytes) -> ObjectID | None:
    """The value of `ref` in packed-refs content: a search for " <ref>\\n" at a line's end."""
    needle = b" " + ref + b"\n"
    start = 0
    while True:
        at = data.find(needle, start)
        if at < 0:
            return None
        line_start = data.rfind(b"\n", 0, at) + 1
        sha = data[line_start:at]
        if len(sha) in (40, 64) and not sha.startswith((b"#", b"^")):
            return ObjectID(sha)
        start = at + 1


def read_ref(controldir: str, ref: bytes) -> ObjectID | None:
    """The object id `ref` ("refs/heads/main") points at, or None: one file, maybe two."""
    found = _read_loose(controldir, ref)
    if found is not None:
        return found
    return _read_packed(_packed_bytes(controldir), ref)


def clash(controldir: str, ref: bytes) -> bytes | None:
    """An existing ref that stops `ref` from being created (a prefix of it, or one below it).

    Looks at `ref`'s own prefixes (a loose file or a packed line each) and under its own folder
    (a loose ref inside it, or a packed line starting with it): never at unrelated refs.
    """
    parts = ref.split(b"/")
    packed = _packed_bytes(controldir)
    for i in range(3, len(parts)):  # refs/heads/<first> … the parent folders of the name
        prefix = b"/".join(parts[:i])
        if os.path.isfile(_path(controldir, prefix)) or _read_packed(packed, prefix) is not None:
            return prefix
    folder = _path(controldir, ref)
    if os.path.isdir(folder):
        for below in _loose_under(folder, ref):
            return below
        _remove_empty_dirs(folder)  # folders left behind by deleted refs
    at = packed.find(b" " + ref + b"/")
    if at >= 0:
        end = packed.find(b"\n", at)
        return packed[at + 1 : end if end >= 0 else None]
    return None


def _loose_under(folder: str, ref: bytes) -> Iterator[bytes]:
    for root, _dirs, files in os.walk(folder):
        for name in files:
            if not name.endswith(".lock"):
                rel = os.path.relpath(os.path.join(root, name), folder).replace(os.sep, "/")
                yield ref + b"/" + rel.encode()


def _remove_empty_dirs(folder: str) -> None:
    for root, _dirs, _files in os.walk(folder, topdown=False):
        with suppress(OSError):
            os.rmdir(root)


def _lock(controldir: str, ref: bytes) -> Any:
    """The ref's `.lock` file, open for the new value (dulwich's GitFile: FileLocked if taken)."""
    path = _path(controldir, ref)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return GitFile(path, "wb")


def _write_if(controldir: str, ref: bytes, expected: ObjectID | None, value: ObjectID) -> bool:
    """Under the ref's lock: if it is at `expected` (None: absent), point it at `value`."""
    f = _lock(controldir, ref)
    try:
        if read_ref(controldir, ref) != expected:
            f.abort()
            return False
        f.write(value + b"\n")
    except BaseException:
        f.abort()
        raise
    f.close()  # renames the lock file into place
    return True


def create_ref(controldir: str, ref: bytes, value: ObjectID) -> bool:
    """Create `ref` at `value`; False when it exists. Raises dulwich's FileLocked when locked."""
    return _write_if(controldir, ref, None, value)


def update_ref(controldir: str, ref: bytes, expected: ObjectID, value: ObjectID) -> bool:
    """Move `ref` from `expected` to `value`; False when it is not at `expected`."""
    return _write_if(controldir, ref, expected, value)


def delete_ref(controldir: str, ref: bytes, expected: ObjectID) -> bool:
    """Delete `ref` if it is at `expected`; False when it is elsewhere or missing."""
    f = _lock(controldir, ref)
    try:
        if read_ref(controldir, ref) != expected:
            return False
        packed = _packed_bytes(controldir)
        if _read_packed(packed, ref) is not None:
            _rewrite_packed(controldir, {ref: None})
        with suppress(FileNotFoundError):
            os.remove(_path(controldir, ref))
        return True
    finally:
        f.abort()
        parent = os.path.dirname(_path(controldir, ref))
        heads = os.path.join(controldir, "refs", "heads")
        while parent.startswith(heads + os.sep):
            try:
                os.rmdir(parent)
            except OSError:
                break
            parent = os.path.dirname(parent)


def _rewrite_packed(controldir: str, changes: dict[bytes, ObjectID | None]) -> None:
    """Apply `changes` to packed-refs under its lock (re-read under the lock)."""
    path = os.path.join(controldir, _PACKED)
    with GitFile(path, "wb") as out:
        refs: dict[Any, ObjectID] = {}
        peeled: dict[Any, ObjectID] = {}
        try:
            with open(path, "rb") as current:
                first = current.readline()
                if first.startswith(b"# pack-refs") and b" peeled" in first:
                    for sha, name, peel in read_packed_refs_with_peeled(current):
                        refs[name] = sha
                        if peel:
                            peeled[name] = peel
                else:
                    current.seek(0)
                    refs.update((name, sha) for sha, name in read_packed_refs(current))
        except FileNotFoundError:
            pass
        for changed, value in changes.items():
            if value is None:
                refs.pop(changed, None)
                peeled.pop(changed, None)
            else:
                refs[changed] = value
        write_packed_refs(out, refs, peeled)


def pack_refs(controldir: str, prefix: bytes = b"refs/heads/") -> int:
    """Move the loose refs under `prefix` into packed-refs; return how many were packed.

    Housekeeping, so listing the loose refs is its job. Each batch of refs is locked, read under
    the lock, written to packed-refs, and only then are the loose files removed.
    """
    folder = _path(controldir, prefix.rstrip(b"/"))
    names = sorted(_loose_under(folder, prefix.rstrip(b"/"))) if os.path.isdir(folder) else []
    packed = 0
    for start in range(0, len(names), _PACK_BATCH):
        with ExitStack() as stack:
            held: dict[bytes, ObjectID] = {}
            for name in names[start : start + _PACK_BATCH]:
                try:
                    lock = _lock(controldir, name)
                except FileLocked:  # a writer holds it right now: packed next time
                    continue
                stack.callback(lock.abort)
                value = _read_loose(controldir, name)
                if value is not None:
                    held[name] = value
            if not held:
                continue
            _rewrite_packed(controldir, dict(held))
            for name in held:
                with suppress(FileNotFoundError):
                    os.remove(_path(controldir, name))
            packed += len(held)
    if os.path.isdir(folder):
        for entry in os.scandir(folder):
            if entry.is_dir():
                _remove_empty_dirs(entry.path)
    return packed
