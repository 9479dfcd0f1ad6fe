"""Cached object access for merges in a long-lived process.

Why: a merge touches the same few big trees (``force-app/main/default/
classes`` holds thousands of entries) over and over, and dulwich re-inflates
and re-parses an object on every lookup.  Parsed trees are kept in an LRU
bounded by entry count (ids are content hashes, so nothing goes stale) and
blobs in a byte-bounded one.

Big directories are also where a naive merge spends its time writing: the
result usually differs from an input tree in a handful of entries, so
:meth:`ObjectCache.write_tree_spliced` edits the input tree's raw bytes
instead of sorting and re-serialising every entry.  Objects are written
straight to the store (skipping ones already there, whose date is freshened
instead: branching/git/freshen.py), so the result exists as soon as the merge
returns — like ``git merge-tree --write-tree``.
"""

from __future__ import annotations

import hashlib
import re
import time
import zlib
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterable
from itertools import accumulate
from operator import itemgetter
from typing import Any

from dulwich.object_store import DiskObjectStore
from dulwich.objects import Blob, ObjectID, ShaFile, Tree, parse_tree

from branching.git.freshen import freshen
from branching.git.packs import reader_for

S_IFMT = 0o170000
S_IFDIR = 0o040000
S_IFREG = 0o100000
S_IFLNK = 0o120000
S_IFGITLINK = 0o160000

# git's empty tree, the one constant for it: the starting point of a full package, the base of
# a merge with no common ancestor.
EMPTY_TREE = b"4b825dc642cb6eb9a060e54bf8d69288fbee4904"
EMPTY_TREE_SHA256 = b"6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321"

# How long a write skipped because this cache made the object stays skipped: well inside
# housekeeping's grace period, so an object re-used all day is freshened again on the way.
KNOWN_FOR = 3600.0

Entry = tuple[bytes, int, bytes]  # (name, mode, hex id), as dulwich's parse_tree yields
_name_of = itemgetter(0)
TreeEntries = dict[bytes, tuple[int, bytes]]


def tree_key(entry: Entry) -> bytes:
    """git tree order: directories sort as if their name ended in '/'."""
    name, mode, _ = entry
    return name + b"/" if mode & S_IFMT == S_IFDIR else name


def encode_entry(entry: Entry) -> bytes:
    name, mode, sha = entry
    return b"%o %s\0" % (mode, name) + bytes.fromhex(sha.decode())


# One tree entry's bytes: mode, space and name up to its NUL, then the 20-byte id. Matched one
# after the other from the start of a well-formed tree, the matches are its entries.
_RECORD = re.compile(rb"[^\0]*\0.{20}", re.DOTALL)
_RECORD_NAME = re.compile(rb"[^ \0]* ([^\0]*)\0.{20}", re.DOTALL)


def _parse(raw: bytes) -> list[Entry]:
    entries = parse_tree(raw, 20)  # a list from dulwich's compiled parser
    return entries if isinstance(entries, list) else list(entries)


def parse_records(records: Iterable[bytes]) -> list[Entry]:
    """The entries that these records of trees encode (at C speed, in the order given)."""
    return _parse(b"".join(records))


def records_by_name(records: Iterable[bytes]) -> tuple[dict[bytes, bytes], list[bytes]]:
    """Name -> record for records of one tree, and the names of those that are directories;
    names are found at C speed and nothing else is parsed."""
    listed = list(records)
    joined = b"".join(listed)
    names = _RECORD_NAME.findall(joined)
    if len(names) != len(listed):  # not well-formed records: dulwich says what is wrong
        entries = _parse(joined)
        return (
            {name: encode_entry((name, mode, sha)) for name, mode, sha in entries},
            [name for name, mode, _ in entries if mode & S_IFMT == S_IFDIR],
        )
    dirs = []
    # A directory's record starts with "40000 " (git writes no leading zero; a tree that does
    # is looked at too): without those bytes anywhere there is none to look for.
    if b"40000 " in joined:
        dirs = [r[r.index(b" ") + 1 : -21] for r in listed if r.startswith((b"40000 ", b"040000 "))]
    return dict(zip(names, listed, strict=True)), dirs


class TreeData:
    """One tree: its raw body, split into entry records, and lazy views of them.

    A merge compares the three versions of a directory by their records (bytes, split and
    hashed at C speed) and parses only the records that differ: a big folder of thousands of
    files is never parsed entry by entry unless something needs all its entries.

    What a cached tree keeps is cheap for the garbage collector: its records and their
    offsets are tuples of bytes and ints, which the collector stops examining after its first
    look, and the set of records is built again for each merge that compares the tree (a
    microsecond a thousand records: bytes keep their hash) rather than kept, since a
    collection would visit every element of a kept set, each time, for as long as the tree
    stays in the cache.
    """

    __slots__ = (
        "sha",
        "raw",
        "_entries",
        "_records",
        "_dirs",
        "_dict",
        "_offsets",
        "_index",
        "_keys",
    )

    def __init__(self, sha: bytes, raw: bytes, entries: list[Entry] | None = None) -> None:
        self.sha = sha
        self.raw = raw
        self._entries = entries
        self._records: tuple[bytes, ...] | None = None
        self._dirs: frozenset[Entry] | None = None
        self._dict: TreeEntries | None = None
        self._offsets: tuple[int, ...] | None = None
        self._index: dict[bytes, int] | None = None
        self._keys: list[bytes] | None = None

    @property
    def entries(self) -> list[Entry]:
        """(name, mode, hex id) in tree order."""
        if self._entries is None:
            self._entries = _parse(self.raw)
        return self._entries

    def records(self) -> tuple[bytes, ...]:
        """Each entry's bytes, in tree order."""
        if self._records is None:
            records = tuple(_RECORD.findall(self.raw))
            if sum(map(len, records)) != len(self.raw):
                self.entries  # noqa: B018 - dulwich says what is wrong with it
                raise ValueError(f"tree {self.sha!r} is not a sequence of entries")
            self._records = records
        return self._records

    def record_set(self) -> frozenset[bytes]:
        """The entries' bytes: two trees differ exactly in their records' symmetric difference
        (an entry encoded differently only costs a look at it). Built anew on each call."""
        return frozenset(self.records())

    def count(self) -> int:
        if self._entries is not None:
            return len(self._entries)
        return len(self.records())

    def dirs(self) -> frozenset[Entry]:
        """The entries that are directories (usually few; none in a big folder of files)."""
        if self._dirs is None:
            raw = self.raw
            # Every directory entry starts with its mode, "40000 ": without those bytes
            # anywhere (a search at C speed) there is none. A name or an id holding them only
            # costs the loop.
            if b"40000 " in raw:
                self._dirs = frozenset(e for e in self.entries if e[1] & S_IFMT == S_IFDIR)
            else:
                self._dirs = frozenset()
        return self._dirs

    def as_dict(self) -> TreeEntries:
        if self._dict is None:
            self._dict = {name: (mode, sha) for name, mode, sha in self.entries}
        return self._dict

    def offset(self, index: int) -> int:
        """Byte offset of entry ``index`` in ``raw`` (``len(raw)`` past the end).

        The offsets of all entries are the records' lengths summed at C speed, so splicing
        thousands of entries into a big directory is linear, not a search per entry.
        """
        offsets = self._offsets
        if offsets is None:
            offsets = self._offsets = tuple(accumulate(map(len, self.records()), initial=0))
        return offsets[index] if index < len(offsets) else len(self.raw)

    def record(self, index: int) -> Entry:
        """The entry at ``index``, parsed alone."""
        return _parse(self.records()[index])[0]

    def insertion_point(self, key: bytes) -> int:
        """Where an entry whose `tree_key` is ``key`` goes among the entries."""
        if self._keys is None:
            if self.dirs():
                self._keys = [tree_key(entry) for entry in self.entries]
            elif self._index is not None:
                self._keys = list(self._index)  # the names, in tree order, found already
            else:
                self._keys = self._names()
        return bisect_left(self._keys, key)

    def index_of(self, name: bytes) -> int:
        """The position of the entry called ``name`` (-1 when there is none)."""
        if self._index is None:
            # Without directories the names are the keys, when `insertion_point` found them.
            names = self._keys if self._keys is not None and not self.dirs() else self._names()
            self._index = dict(zip(names, range(len(names)), strict=True))
        return self._index.get(name, -1)

    def _names(self) -> list[bytes]:
        if self._entries is None:
            names = _RECORD_NAME.findall(self.raw)
            if len(names) == len(self.records()):
                return names
        return list(map(_name_of, self.entries))


EMPTY_TREE_DATA = TreeData(EMPTY_TREE, b"", [])


class _LooseObject:
    """Just enough of a ``ShaFile`` for ``DiskObjectStore.add_object``.

    Building a real dulwich ``Tree`` from bytes we just serialised would
    parse them again; the store only needs the id and the compressed body.
    """

    def __init__(self, sha: bytes, header: bytes, raw: bytes) -> None:
        self._sha = sha
        self._header = header
        self._raw = raw

    def get_id(self, object_format: Any = None) -> bytes:
        return self._sha

    def as_legacy_object(self, compression_level: int = -1) -> bytes:
        # git compresses loose objects for speed (core.looseCompression defaults to 1); the
        # store passes -1 when the repository configures no level.
        if compression_level == -1:
            compression_level = zlib.Z_BEST_SPEED
        return zlib.compress(self._header + self._raw, compression_level)


class ObjectCache:
    """Read-through caches over a dulwich object store, plus deduplicated writes."""

    def __init__(
        self,
        object_store: Any,
        *,
        tree_entries: int = 500_000,
        blob_bytes: int = 64 << 20,
    ) -> None:
        self.store = object_store
        self._trees: OrderedDict[bytes, TreeData] = OrderedDict()
        self._tree_entries = 0
        self._tree_limit = tree_entries
        self._blobs: OrderedDict[bytes, bytes] = OrderedDict()
        self._blob_bytes = 0
        self._blob_limit = blob_bytes
        # Objects this cache wrote or freshened, and when (time.monotonic()): skipped again
        # only while that is recent, so what a long-lived process re-uses keeps a fresh date.
        self._known: dict[bytes, float] = {}
        self._disk = isinstance(object_store, DiskObjectStore)
        # Packed and loose objects read in place (see `branching.git.packs`); dulwich answers
        # whatever the reader leaves.
        self._reader = reader_for(object_store) if self._disk else None

    def _get_raw(self, sha: bytes) -> tuple[int, bytes]:
        if self._reader is not None:
            found = self._reader.get_raw(sha)
            if found is not None:
                return found
        return self.store.get_raw(sha)

    def close(self) -> None:
        """Release the mapped pack files (the caches stay usable; they map them again)."""
        if self._reader is not None:
            self._reader.close()

    # ------------------------------------------------------------------ reads

    def tree_data(self, sha: bytes | None) -> TreeData:
        if sha is None or sha == EMPTY_TREE:
            return EMPTY_TREE_DATA
        data = self._trees.get(sha)
        if data is not None:
            self._trees.move_to_end(sha)
            return data
        type_num, raw = self._get_raw(sha)
        if type_num != Tree.type_num:
            raise TypeError(f"{sha!r} is not a tree")
        data = TreeData(sha, raw)
        self._remember_tree(data)
        return data

    def _remember_tree(self, data: TreeData) -> None:
        self._trees[data.sha] = data
        self._tree_entries += data.count() + 1
        while self._tree_entries > self._tree_limit and len(self._trees) > 1:
            _, old = self._trees.popitem(last=False)
            self._tree_entries -= old.count() + 1

    def tree(self, sha: bytes | None) -> TreeEntries:
        """Entries of a tree as ``name -> (mode, hex id)``; ``None`` is the empty tree."""
        return self.tree_data(sha).as_dict()

    def blob(self, sha: bytes) -> bytes:
        cached = self._blobs.get(sha)
        if cached is not None:
            self._blobs.move_to_end(sha)
            return cached
        type_num, raw = self._get_raw(sha)
        if type_num != Blob.type_num:
            raise TypeError(f"{sha!r} is not a blob")
        self._remember_blob(sha, raw)
        return raw

    def _remember_blob(self, sha: bytes, raw: bytes) -> None:
        self._blobs[sha] = raw
        self._blob_bytes += len(raw)
        while self._blob_bytes > self._blob_limit and len(self._blobs) > 1:
            _, old = self._blobs.popitem(last=False)
            self._blob_bytes -= len(old)

    # ----------------------------------------------------------------- writes

    def _write(self, type_name: bytes, type_num: int, raw: bytes) -> bytes:
        header = b"%s %d\0" % (type_name, len(raw))
        sha = hashlib.sha1(header + raw, usedforsecurity=False).hexdigest().encode()
        now = time.monotonic()
        if now - self._known.get(sha, -KNOWN_FOR) < KNOWN_FOR:
            return sha
        store = self.store
        if self._disk:
            # Stored (loose, or in a pack): its date freshened; else written.
            if not freshen(store, sha, self._packed):
                store.add_object(_LooseObject(sha, header, raw))
        elif sha not in store:
            store.add_object(ShaFile.from_raw_string(type_num, raw, sha=ObjectID(sha)))
        if len(self._known) > 1_000_000:
            self._known.clear()
        self._known[sha] = now
        return sha

    def _packed(self, sha: bytes) -> bool:
        # The reader re-lists the packs only when objects/pack changed; dulwich re-lists them
        # on every miss, and a merge's new objects are all misses. A pack the reader cannot
        # read only costs a loose copy of an object it already holds.
        if self._reader is not None:
            return self._reader.contains_packed(sha)
        return bool(self.store.contains_packed(sha))

    def write_blob(self, data: bytes) -> bytes:
        sha = self._write(b"blob", Blob.type_num, data)
        if sha not in self._blobs and len(data) < (1 << 20):
            self._remember_blob(sha, data)
        return sha

    def write_tree(self, entries: list[Entry]) -> bytes:
        """Write a tree from unsorted entries."""
        return self.write_tree_spliced(EMPTY_TREE_DATA, (), entries)

    def write_tree_spliced(
        self, base: TreeData, removed: list[Entry] | tuple[()], added: list[Entry]
    ) -> bytes:
        """Write ``base`` minus the ``removed`` entries plus the ``added`` ones.

        ``removed`` must be entries of ``base``; ``added`` names must not
        collide with the entries that remain.
        """
        if not removed and not added and base.sha != EMPTY_TREE:
            return base.sha
        raw = base.raw
        pieces: list[tuple[int, int, bytes, int]] = []  # (offset, phase, key, end/-1)
        inserts: dict[tuple[int, bytes], bytes] = {}
        if removed:
            at = [base.index_of(entry[0]) for entry in removed]
            records = base.records()
            # Each removed entry is the base's entry of its name: its record, parsed with the
            # others' in one call, gives it back (and no name is removed twice).
            if (
                min(at) < 0
                or len(set(at)) != len(at)
                or parse_records([records[i] for i in at]) != list(removed)
            ):
                for entry, index in zip(removed, at, strict=True):
                    if index < 0 or base.record(index) != entry:
                        raise ValueError(f"{entry!r} is not in tree {base.sha!r}")
                raise ValueError(f"an entry is removed twice from tree {base.sha!r}")
            for index in at:
                pieces.append((base.offset(index), 1, b"", base.offset(index + 1)))
        for entry in added:
            key = tree_key(entry)
            offset = base.offset(base.insertion_point(key))
            pieces.append((offset, 0, key, -1))
            inserts[(offset, key)] = encode_entry(entry)
        pieces.sort()
        out: list[bytes] = []
        pos = 0
        for offset, phase, key, end in pieces:
            if offset > pos:
                out.append(raw[pos:offset])
                pos = offset
            if phase == 0:
                out.append(inserts[(offset, key)])
            else:
                pos = end
        out.append(raw[pos:])
        body = b"".join(out)
        return self._write(b"tree", Tree.type_num, body)
