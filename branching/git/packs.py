"""Raw objects straight from the pack files and loose files, for merges' first reads.

Why: a process's first merge of a long-lived branch reads a couple of thousand trees and blobs
it has never seen, most of them deltas several steps deep in a pack. dulwich reads each delta
step through general-purpose code (an `UnpackedObject` per step, a CRC, a lock per cache hit),
which made those reads cost several times git's whole merge. This reader does what git does
and no more:

- the pack's `.idx` (version 2) is mapped and searched by its fan-out table (read once), a
  bucket's run of names narrowed by their second bytes, never loaded into a whole-pack map;
- an object's header is parsed in place in the mapped `.pack`, its data inflated once, and a
  delta chain resolved from the nearest base already resolved, with a byte-bounded cache of
  resolved objects (git's delta base cache) shared by all packs;
- each delta is applied by dulwich's compiled `apply_delta`, one step at a time. A big folder's
  tree is copied whole at every step, at memory speed: that costs less than any bookkeeping in
  Python that avoids the copies, on fast-import's chains (a few small deltas on a big tree)
  and even more so on `git repack`'s (deltas of thousands of copy instructions);
- an entry that inflates to a few kilobytes or more (a big folder's tree) is inflated by ISA-L
  (python-isal) when it is installed, a third faster than zlib; the small ones, most deltas, by
  zlib, which starts faster;
- a loose object is inflated once and split at its header, not parsed into a dulwich object and
  serialised again.

Anything it does not handle (a version-1 index, SHA-256, alternates, a pack that changed under
it) it leaves to dulwich by answering None: it is a fast path, never the only path. The set of
packs is re-listed only when `objects/pack` itself changed (one `stat` on a miss).
"""

from __future__ import annotations

import mmap
import os
import struct
import zlib
from collections import OrderedDict
from itertools import count
from typing import Any

__all__ = ["ObjectReader"]

_IDX_MAGIC = b"\377tOc\x00\x00\x00\x02"
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_OFS_DELTA = 6
_REF_DELTA = 7
_TYPE_NAMES = {b"commit": 1, b"tree": 2, b"blob": 3, b"tag": 4}

try:  # ISA-L's inflate (python-isal): the same output as zlib's, a third faster on a big
    # folder's tree (zlib's is faster on the few hundred bytes of most deltas: `_ISAL_FROM`)
    from isal import isal_zlib

    _inflate = isal_zlib.decompress
    # its stub declares the class an instance
    _InflateError: type[Exception] = isal_zlib.error  # type: ignore[assignment]
except ImportError:  # pragma: no cover - a platform without its wheels
    _inflate = zlib.decompress
    _InflateError = zlib.error

try:  # dulwich's Rust extension, the one git's delta format is applied with
    from dulwich._pack import apply_delta as _apply_delta
except ImportError:  # pragma: no cover - the pure-Python build of dulwich
    from dulwich.pack import apply_delta as _apply_delta


_PACK_KEYS = count(1)
_BIG = 64 << 10  # bytes: a resolved object this big is kept only at some steps of its chain
_ISAL_FROM = 4096  # bytes an entry inflates to from which ISA-L's inflate is the faster
_FIND_AMONG = 64  # names of a pack index searched as bytes without narrowing them first


class _Pack:
    """One `pack-*.pack` with its version-2 index, both mapped read-only."""

    __slots__ = (
        "name",
        "key",
        "_idx",
        "_data",
        "_count",
        "_fanout",
        "_names",
        "_offsets",
        "_large",
        "_seconds",
    )

    def __init__(self, name: str, idx_path: str, pack_path: str) -> None:
        self.name = name
        # An entry's key in the reader's cache: this plus its offset (a pack is under 1 TiB).
        self.key = next(_PACK_KEYS) << 40
        with open(idx_path, "rb") as f:
            self._idx = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            with open(pack_path, "rb") as f:
                self._data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except BaseException:
            self._idx.close()
            raise
        idx = self._idx
        if idx[:8] != _IDX_MAGIC or self._data[:4] != b"PACK":
            self.close()
            raise ValueError(f"{name}: not a version-2 pack index")
        self._fanout: tuple[int, ...] = struct.unpack_from(">256I", idx, 8)
        self._count = self._fanout[255]
        self._names = 8 + 256 * 4
        self._offsets = self._names + self._count * 24  # past the names and the CRCs
        self._large = self._offsets + self._count * 4
        # Per first byte, the second bytes of its names (read once, on the first lookup).
        self._seconds: dict[int, bytes] = {}

    def close(self) -> None:
        self._idx.close()
        self._data.close()

    def offset(self, raw_sha: bytes) -> int | None:
        """Where the object with this 20-byte id starts in the pack, or None."""
        idx = self._idx
        first = raw_sha[0]
        fanout = self._fanout
        lo = fanout[first - 1] if first else 0
        hi = fanout[first]
        names = self._names
        if hi - lo > _FIND_AMONG:
            # The names that share the first byte are sorted by their second: its run among
            # their second bytes (found, then counted, at C speed) holds the name if any.
            seconds = self._seconds.get(first)
            if seconds is None:
                seconds = idx[names + 20 * lo + 1 : names + 20 * hi : 20]
                self._seconds[first] = seconds
            second = raw_sha[1:2]
            at = seconds.find(second)
            if at < 0:
                return None
            lo, hi = lo + at, lo + at + seconds.count(second, at)
        end = names + 20 * hi
        at = idx.find(raw_sha, names + 20 * lo, end)  # in the mapping, nothing copied
        while at < 0 or (at - names) % 20:  # a match counts only where a name starts
            if at < 0:
                return None
            at = idx.find(raw_sha, at + 1, end)
        (value,) = _U32.unpack_from(idx, self._offsets + 4 * ((at - names) // 20))
        if value & 0x80000000:
            (value,) = _U64.unpack_from(idx, self._large + 8 * (value & 0x7FFFFFFF))
        return value

    def inflate(self, pos: int, size: int) -> bytes:
        """The `size` bytes that the zlib stream starting at `pos` inflates to."""
        data = self._data
        step = size + 64
        try:
            # Deflate adds at most 5 bytes per 16 KiB block and 6 of its own, so this slice
            # usually holds the whole stream; what follows it is ignored.
            out = _inflate(data[pos : pos + step], 15, size or 1)
        except (zlib.error, _InflateError):
            out = b""
        if len(out) == size:
            return out
        inflater = zlib.decompressobj()
        out = inflater.decompress(data[pos : pos + step])
        while not inflater.eof:
            pos += step
            if pos >= len(data):
                raise ValueError(f"{self.name}: truncated object")
            step *= 2
            out += inflater.decompress(data[pos : pos + step])
        if len(out) != size:
            raise ValueError(f"{self.name}: object inflates to {len(out)} bytes, not {size}")
        return out


class ObjectReader:
    """Raw objects of one repository's object directory: (type number, content) by hex id."""

    def __init__(self, objects_dir: str, *, cache_bytes: int = 48 << 20) -> None:
        self.objects_dir = objects_dir
        self._pack_dir = os.path.join(objects_dir, "pack")
        self._packs: list[_Pack] = []
        self._listed: int | None = None  # objects/pack's mtime when the packs were listed
        self._cache: OrderedDict[int, tuple[int, bytes]] = OrderedDict()
        self._cache_bytes = 0
        self._cache_limit = cache_bytes
        self._small = cache_bytes // 16  # a bigger object is resolved but not kept

    # -------------------------------------------------------------- the packs

    def _pack_dir_stamp(self) -> int | None:
        try:
            return os.stat(self._pack_dir).st_mtime_ns
        except OSError:
            return None

    def _relist(self) -> bool:
        """Re-list the packs if `objects/pack` changed since they were listed; True if it did."""
        stamp = self._pack_dir_stamp()
        if stamp is not None and stamp == self._listed:
            return False
        self._listed = stamp
        try:
            names = sorted(n[:-4] for n in os.listdir(self._pack_dir) if n.endswith(".idx"))
        except OSError:
            names = []
        known = {p.name: p for p in self._packs}
        packs = []
        for name in names:
            pack = known.pop(name, None)
            if pack is None:
                base = os.path.join(self._pack_dir, name)
                if not os.path.exists(base + ".pack"):
                    continue  # an index written before its pack: git renames .pack first
                try:
                    pack = _Pack(name, base + ".idx", base + ".pack")
                except (OSError, ValueError):
                    continue  # dulwich reads what this reader cannot
            packs.append(pack)
        for gone in known.values():
            gone.close()
        self._packs = packs
        return True

    def _locate(self, raw_sha: bytes) -> tuple[_Pack, int] | None:
        if self._listed is None:
            self._relist()
        for _ in range(2):
            for pack in self._packs:
                offset = pack.offset(raw_sha)
                if offset is not None:
                    return pack, offset
            if not self._relist():
                return None
        return None

    def contains_packed(self, sha: bytes) -> bool:
        """Whether a pack this reader can read holds the object (hex id)."""
        return len(sha) == 40 and self._locate(bytes.fromhex(sha.decode())) is not None

    # ------------------------------------------------------------------ reads

    def get_raw(self, sha: bytes) -> tuple[int, bytes] | None:
        """(type number, content) of the object with this hex id, or None to ask dulwich."""
        if len(sha) != 40:
            return None
        raw_sha = bytes.fromhex(sha.decode())
        found = self._locate(raw_sha)
        if found is not None:
            try:
                return self._resolve(*found)
            except (KeyError, ValueError, IndexError, zlib.error, _InflateError):
                return None  # dulwich will say what is wrong with it
        return self._loose(sha)

    def _loose(self, sha: bytes) -> tuple[int, bytes] | None:
        hexsha = sha.decode()
        path = os.path.join(self.objects_dir, hexsha[:2], hexsha[2:])
        try:
            with open(path, "rb") as f:
                packed = f.read()
            body = (_inflate if len(packed) >= _ISAL_FROM else zlib.decompress)(packed)
        except (OSError, zlib.error, _InflateError):
            return None
        end = body.find(b"\0")
        kind, _, size = body[:end].partition(b" ")
        type_num = _TYPE_NAMES.get(kind)
        if type_num is None or not size.isdigit() or int(size) != len(body) - end - 1:
            return None
        return type_num, body[end + 1 :]

    def _resolve(self, pack: _Pack, offset: int) -> tuple[int, bytes]:
        """The object at `offset`: walk down its delta chain to a base (or a resolved object
        in the cache), then apply the deltas back up, keeping what each step resolved.

        One loop with the entry headers parsed in place: a first merge walks some ten
        thousand delta steps, each a few hundred bytes, so the cost of a step is the point.
        """
        cache = self._cache
        decompress = zlib.decompress
        inflate = _inflate
        chain: list[tuple[int, bytes]] = []  # (cache key, delta), from the object down
        data = pack._data
        key = pack.key + offset
        while True:
            hit = cache.get(key)
            if hit is not None:
                cache.move_to_end(key)
                kind, content = hit
                break
            byte = data[offset]
            kind = (byte >> 4) & 7
            size = byte & 15
            shift = 4
            pos = offset + 1
            while byte & 0x80:
                byte = data[pos]
                pos += 1
                size |= (byte & 0x7F) << shift
                shift += 7
            base: bytes | None = None
            distance = 0
            if kind == _OFS_DELTA:
                byte = data[pos]
                pos += 1
                distance = byte & 0x7F
                while byte & 0x80:
                    byte = data[pos]
                    pos += 1
                    distance = ((distance + 1) << 7) | (byte & 0x7F)
            elif kind == _REF_DELTA:
                base = data[pos : pos + 20]
                pos += 20
            # Deflate adds at most 5 bytes per 16 KiB block and 6 of its own, so this slice
            # usually holds the whole stream (what follows it is ignored); else the long way.
            try:
                content = (inflate if size >= _ISAL_FROM else decompress)(
                    data[pos : pos + size + 64], 15, size or 1
                )
            except (zlib.error, _InflateError):
                content = b""
            if len(content) != size:
                content = pack.inflate(pos, size)
            if kind == _OFS_DELTA:
                chain.append((key, content))
                offset -= distance
                key -= distance
            elif kind == _REF_DELTA:
                chain.append((key, content))
                located = self._locate(base)  # type: ignore[arg-type]
                if located is None:
                    raise KeyError(base.hex())  # type: ignore[union-attr]
                pack, offset = located
                data = pack._data
                key = pack.key + offset
            else:
                self._remember(key, kind, content)
                break
        if not chain:
            return kind, content
        small = self._small
        added = 0
        last = len(chain) - 1
        for step, (key, delta) in enumerate(reversed(chain)):
            pieces = _apply_delta(content, delta)
            content = pieces[0] if len(pieces) == 1 else b"".join(pieces)
            size = len(content)
            # Every step is kept, as git's delta base cache does, except that of a big
            # object (a big folder's tree, 50 deltas deep) only every 8th step and the object
            # itself are: 50 copies of a 300 KiB tree would push everything else out.
            if size <= small and (size <= _BIG or step == last or not step % 8):
                cache[key] = (kind, content)
                added += size
        self._cache_bytes += added
        if self._cache_bytes > self._cache_limit:
            self._evict()
        return kind, content

    def _remember(self, key: int, kind: int, content: bytes) -> None:
        if len(content) > self._small:
            return
        self._cache[key] = (kind, content)
        self._cache_bytes += len(content)
        if self._cache_bytes > self._cache_limit:
            self._evict()

    def _evict(self) -> None:
        cache = self._cache
        while self._cache_bytes > self._cache_limit and cache:
            _, (_, old) = cache.popitem(last=False)
            self._cache_bytes -= len(old)

    def close(self) -> None:
        for pack in self._packs:
            pack.close()
        self._packs = []
        self._listed = None
        self._cache.clear()
        self._cache_bytes = 0


def reader_for(object_store: Any) -> ObjectReader | None:
    """A reader for a dulwich `DiskObjectStore` of SHA-1 objects; None for anything else."""
    path = getattr(object_store, "path", None)
    object_format = getattr(object_store, "object_format", None)
    if not isinstance(path, str) or getattr(object_format, "hex_length", 40) != 40:
        return None
    return ObjectReader(path)
