"""git's commit-graph files: parents, dates and generation numbers without parsing commits.

Why our own reader and writer rather than dulwich's `commit_graph` module (dulwich 1.2): its
writer computes generation numbers by recursing once per parent, so a linear history deeper than
Python's recursion limit (about 1,000 commits) raises `RecursionError`; it keeps only two parents
of an octopus merge, writes no trailing checksum (git then refuses the file), and has no split
chains. Its reader builds one Python object per commit on every open.

What is written is git's format (`gitformat-commit-graph`), version 1 with topological levels
as generation numbers and no corrected-date chunk, as a **split chain**
(`objects/info/commit-graphs/commit-graph-chain` and one `graph-<hash>.graph` per layer), so:

- keeping it current after a fetch or a promotion writes a layer holding just the new commits
  (the cost of the change, not of the history); layers are merged when a new one grows past
  half of the one below, as `git commit-graph write --split` does, and housekeeping folds them
  all into one;
- git itself reads the same files (`git commit-graph verify` accepts them), and because they
  carry no corrected commit dates, git's merge-base walk keeps its commit-date order: the merge
  bases it reports, and their order, stay those `branching.git.ancestry` reproduces.

A commit in the graph has all its ancestors in the graph (each layer is closed under parents
over itself and the layers below). Positions are global over the chain, base layer first.

A process decodes each layer once: `load_commit_graph` keeps the chain it read last for each
of the 32 repositories it used last and, when the chain on disk has grown (a layer added after
a promotion, top layers merged), decodes only the layers it has not seen on top of what it
kept; callers get their own copy of the decoded lists (a `History` extends them with commits
it reads). So keeping the graph current after a promotion, and reading it again, cost what the
new commits cost, not the history (copying the lists runs at C speed: a fraction of a
millisecond for 15,000 commits).
"""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dulwich.objects import Commit

__all__ = [
    "CommitGraph",
    "GraphCommit",
    "graph_files",
    "load_commit_graph",
    "write_layer",
]

_SIGNATURE = b"CGPH"
_OIDF, _OIDL, _CDAT, _EDGE, _BASE = b"OIDF", b"OIDL", b"CDAT", b"EDGE", b"BASE"
_PARENT_NONE = 0x70000000
_EXTRA_EDGES = 0x80000000
_LAST_EDGE = 0x80000000
_GENERATION_MAX = 0x3FFFFFFF
_HASH_LEN = 20
_CHAIN = "commit-graph-chain"
# A layer is merged into the one below when it holds more than 1/_SIZE_MULTIPLE of it
# (git's default --size-multiple is 2), which keeps the chain logarithmically short.
_SIZE_MULTIPLE = 2
_MAX_LAYERS = 16
# A lock older than this was left by a writer that died.
_STALE_LOCK_SECONDS = 120


@dataclass(frozen=True)
class GraphCommit:
    """One commit to put in a layer: what the graph stores about it."""

    id: bytes  # hex
    tree: bytes  # hex
    parents: tuple[bytes, ...]  # hex
    time: int


class CommitGraph:
    """The commits of a commit-graph chain (or single file), by global position.

    Everything is decoded into flat lists once per open: a lookup is a dict hit and a walk step
    is a list index, which is what makes a Python walk over thousands of commits cheap.
    """

    def __init__(self) -> None:
        self.ids: list[bytes] = []  # hex ids by position
        self.trees: list[bytes] = []
        self.parents: list[tuple[int, ...]] = []
        self.generations: list[int] = []
        self.times: list[int] = []
        self.positions: dict[bytes, int] = {}  # hex id -> position
        self.layers: list[tuple[str, int]] = []  # (file hash, commit count), base first
        self.key: tuple[object, ...] = ()  # what was on disk when read (see graph_files)

    def __len__(self) -> int:
        return len(self.ids)

    def position(self, commit_id: bytes) -> int | None:
        return self.positions.get(commit_id)

    def copy(self, layers: int | None = None) -> CommitGraph:
        """A copy holding this graph's first `layers` layers (all by default)."""
        kept = self.layers if layers is None else self.layers[:layers]
        below = sum(count for _, count in kept)
        out = CommitGraph()
        out.ids = self.ids[:below]
        out.trees = self.trees[:below]
        out.parents = self.parents[:below]
        out.generations = self.generations[:below]
        out.times = self.times[:below]
        out.positions = dict(self.positions)
        for commit_id in self.ids[below:]:
            del out.positions[commit_id]
        out.layers = list(kept)
        out.key = self.key
        return out

    def _add_layer(self, name: str, data: bytes) -> None:
        chunks = _chunks(data, name)
        base_count = len(self.ids)
        oidl, cdat = chunks[_OIDL], chunks[_CDAT]
        count = len(oidl) // _HASH_LEN
        if len(cdat) != count * (_HASH_LEN + 16):
            raise ValueError(f"commit-graph {name}: commit data does not match the id list")
        bases = chunks.get(_BASE, b"")
        if len(bases) // _HASH_LEN != len(self.layers):
            raise ValueError(f"commit-graph {name}: expected {len(self.layers)} base layers")
        edges = chunks.get(_EDGE, b"")
        total = base_count + count
        ids = [oidl[i : i + _HASH_LEN].hex().encode() for i in range(0, len(oidl), _HASH_LEN)]
        for offset, (tree, p1, p2, high, low) in enumerate(struct.iter_unpack(">20sLLLL", cdat)):
            parents: tuple[int, ...]
            if p1 == _PARENT_NONE:
                parents = ()
            elif p2 == _PARENT_NONE:
                parents = (p1,)
            elif p2 & _EXTRA_EDGES:
                more = []
                index = p2 & ~_EXTRA_EDGES
                while True:
                    (value,) = struct.unpack_from(">L", edges, index * 4)
                    more.append(value & ~_LAST_EDGE)
                    if value & _LAST_EDGE:
                        break
                    index += 1
                parents = (p1, *more)
            else:
                parents = (p1, p2)
            if any(p >= total for p in parents):
                raise ValueError(f"commit-graph {name}: a parent position is out of range")
            self.trees.append(tree.hex().encode())
            self.parents.append(parents)
            self.generations.append(high >> 2)
            self.times.append(((high & 3) << 32) | low)
            self.positions[ids[offset]] = base_count + offset
        self.ids.extend(ids)
        self.layers.append((name, count))


def _chunks(data: bytes, name: str) -> dict[bytes, bytes]:
    if len(data) < 8 + _HASH_LEN or data[:4] != _SIGNATURE or data[4] != 1 or data[5] != 1:
        raise ValueError(f"commit-graph {name}: not a version 1 SHA-1 commit-graph file")
    count = data[6]
    toc = [struct.unpack_from(">4sQ", data, 8 + 12 * i) for i in range(count + 1)]
    out = {}
    end = len(data) - _HASH_LEN
    for (chunk_id, start), (_, stop) in zip(toc, toc[1:], strict=False):
        if not start <= stop <= end:
            raise ValueError(f"commit-graph {name}: a chunk lies outside the file")
        out[chunk_id] = data[start:stop]
    for required in (_OIDF, _OIDL, _CDAT):
        if required not in out:
            raise ValueError(f"commit-graph {name}: no {required.decode()} chunk")
    return out


def _info_dir(objects_dir: str | os.PathLike[str]) -> Path:
    return Path(objects_dir) / "info"


def graph_files(objects_dir: str | os.PathLike[str]) -> tuple[object, ...]:
    """What identifies the graph on disk now (paths and modification times): a cheap staleness
    check for a long-lived reader, one or two `stat` calls."""
    info = _info_dir(objects_dir)
    key: list[object] = []
    for path in (info / "commit-graph", info / "commit-graphs" / _CHAIN):
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        key.append((path.name, st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(key)


def _chain_names(info: Path) -> list[str]:
    try:
        text = (info / "commit-graphs" / _CHAIN).read_text("ascii")
    except FileNotFoundError:
        return []
    return [line.strip() for line in text.splitlines() if line.strip()]


# Objects dir -> the chain last read there (never lent out), for the repositories used last.
_loaded: OrderedDict[str, CommitGraph] = OrderedDict()
_loaded_lock = threading.Lock()
_LOADED_KEPT = 32


def load_commit_graph(objects_dir: str | os.PathLike[str]) -> CommitGraph | None:
    """The repository's commit-graph, or None when there is none (or it cannot be read).

    Like git, a single `info/commit-graph` file wins over a chain. A damaged graph is ignored
    rather than trusted: the walks then read commits from the object store. Only the layers
    this process has not decoded yet are read (see the module's doc); the graph returned is
    the caller's own.
    """
    info = _info_dir(objects_dir)
    where = os.fspath(objects_dir)
    key = graph_files(objects_dir)
    with _loaded_lock:
        last = _loaded.get(where)
        if last is not None:
            _loaded.move_to_end(where)
    try:
        single = info / "commit-graph"
        if single.exists():
            if last is not None and last.key == key:
                return last.copy()
            data = single.read_bytes()
            graph = CommitGraph()
            graph._add_layer(data[-_HASH_LEN:].hex(), data)
        else:
            # Layers are named by their content's hash: the same name is the same layer.
            names = _chain_names(info)
            if not names:
                graph = None
            else:
                same = 0
                if last is not None:
                    for (known, _), name in zip(last.layers, names, strict=False):
                        if known != name:
                            break
                        same += 1
                graph = last.copy(same) if same and last is not None else CommitGraph()
                for name in names[same:]:
                    data = (info / "commit-graphs" / f"graph-{name}.graph").read_bytes()
                    graph._add_layer(name, data)
    except (OSError, ValueError, struct.error):
        graph = None
    with _loaded_lock:
        if graph is None:
            _loaded.pop(where, None)
            return None
        graph.key = key
        _loaded[where] = graph
        _loaded.move_to_end(where)
        while len(_loaded) > _LOADED_KEPT:
            _loaded.popitem(last=False)
    return graph.copy()


# --------------------------------------------------------------------------- writing


class _Below:
    """The first `count` commits of `graph` (the layers a new layer goes on), by id: what a
    layer's parents and generation numbers are looked up in, without a table of the history."""

    def __init__(self, graph: CommitGraph | None, count: int) -> None:
        self.graph = graph
        self.count = count if graph is not None else 0

    def position(self, commit_id: bytes) -> int | None:
        found = self.graph.positions.get(commit_id) if self.graph is not None else None
        return found if found is not None and found < self.count else None

    def generations(self, commit_id: bytes) -> int | None:
        found = self.position(commit_id)
        return None if found is None else self.graph.generations[found]  # type: ignore[union-attr]


def _layer_bytes(
    commits: Sequence[GraphCommit],
    below: _Below,
    generation_of: dict[bytes, int],
    base_hashes: Sequence[str],
) -> bytes:
    """One layer file: `commits` (sorted here), parents found in the layer or below."""
    ordered = sorted(commits, key=lambda c: c.id)
    offset = below.count
    here = {c.id: offset + i for i, c in enumerate(ordered)}

    def pos(parent: bytes) -> int:
        found = here.get(parent)
        if found is None:
            found = below.position(parent)
        if found is None:
            raise KeyError(parent)
        return found

    fanout = [0] * 256
    oidl = bytearray()
    cdat = bytearray()
    edge = bytearray()
    for i, c in enumerate(ordered):
        raw = bytes.fromhex(c.id.decode())
        fanout[raw[0]] = i + 1
        oidl += raw
        parents = [pos(p) for p in c.parents]
        if not parents:
            p1 = p2 = _PARENT_NONE
        elif len(parents) == 1:
            p1, p2 = parents[0], _PARENT_NONE
        elif len(parents) == 2:
            p1, p2 = parents
        else:
            p1, p2 = parents[0], _EXTRA_EDGES | (len(edge) // 4)
            for j, p in enumerate(parents[1:]):
                edge += struct.pack(">L", p | (_LAST_EDGE if j == len(parents) - 2 else 0))
        generation = min(generation_of[c.id], _GENERATION_MAX)
        cdat += bytes.fromhex(c.tree.decode())
        high = (generation << 2) | ((c.time >> 32) & 3)
        cdat += struct.pack(">LLLL", p1, p2, high, c.time & 0xFFFFFFFF)
    for i in range(1, 256):
        fanout[i] = max(fanout[i], fanout[i - 1])
    chunks: list[tuple[bytes, bytes]] = [
        (_OIDF, struct.pack(">256L", *fanout)),
        (_OIDL, bytes(oidl)),
        (_CDAT, bytes(cdat)),
    ]
    if edge:
        chunks.append((_EDGE, bytes(edge)))
    if base_hashes:
        chunks.append((_BASE, b"".join(bytes.fromhex(h) for h in base_hashes)))
    header = _SIGNATURE + bytes([1, 1, len(chunks), len(base_hashes)])
    offset_at = len(header) + 12 * (len(chunks) + 1)
    toc = bytearray()
    for chunk_id, body in chunks:
        toc += chunk_id + struct.pack(">Q", offset_at)
        offset_at += len(body)
    toc += b"\0\0\0\0" + struct.pack(">Q", offset_at)
    body = header + bytes(toc) + b"".join(body for _, body in chunks)
    return body + hashlib.sha1(body, usedforsecurity=False).digest()


def _generations(
    commits: Iterable[GraphCommit], known: Callable[[bytes], int | None]
) -> dict[bytes, int]:
    """Topological levels (1 + the highest parent's) of `commits`, without recursion; `known`
    gives a commit's level when it is in the layers below (None otherwise)."""
    by_id = {c.id: c for c in commits}
    out: dict[bytes, int] = {}
    for start in by_id:
        if start in out:
            continue
        stack = [start]
        while stack:
            top = stack[-1]
            if top in out:
                stack.pop()
                continue
            pending = [p for p in by_id[top].parents if p not in out and known(p) is None]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            levels = (out[p] if p in out else known(p) for p in by_id[top].parents)
            out[top] = 1 + max((level for level in levels if level is not None), default=0)
    return out


def write_layer(
    objects_dir: str | os.PathLike[str],
    graph: CommitGraph | None,
    new: Sequence[GraphCommit],
    *,
    fold: bool = False,
) -> bool:
    """Add `new` (commits not in `graph`, closed under parents over it) as a new chain layer.

    Top layers that the new one outgrows are merged into it (all of them with `fold`), so the
    cost of keeping the graph current is the cost of the new commits plus, now and then, a
    merge whose size doubles each time. Writes are atomic (temporary file, then rename; the
    chain file last), so a reader sees the old chain or the new one. A git-written single
    `commit-graph` file is folded into the chain and removed, since git prefers it to a chain.

    Returns False, writing nothing, when another process holds the chain's lock: the commits
    then go into the next layer written (the graph never has to be complete to be right).
    """
    info = _info_dir(objects_dir)
    graphs = info / "commit-graphs"
    graphs.mkdir(parents=True, exist_ok=True)
    lock = graphs / "commit-graph-chain.lock"
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        try:
            stale = time.time() - lock.stat().st_mtime > _STALE_LOCK_SECONDS
        except FileNotFoundError:
            stale = True
        if not stale:
            return False  # another writer is at it; the next update includes our commits
        lock.unlink(missing_ok=True)
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
    os.close(fd)
    try:
        _write_layer(info, graphs, graph, new, fold)
    finally:
        lock.unlink(missing_ok=True)
    return True


def _write_layer(
    info: Path, graphs: Path, graph: CommitGraph | None, new: Sequence[GraphCommit], fold: bool
) -> None:
    layers = list(graph.layers) if graph is not None else []
    single = (info / "commit-graph").exists()
    keep = len(layers)
    merged_count = len(new)
    if single or fold:
        keep = 0
    else:
        while keep and (merged_count * _SIZE_MULTIPLE > layers[keep - 1][1] or keep >= _MAX_LAYERS):
            keep -= 1
            merged_count += layers[keep][1]
    below = sum(count for _, count in layers[:keep])
    commits = list(new)
    if graph is not None:
        for position in range(below, len(graph)):
            commits.append(
                GraphCommit(
                    graph.ids[position],
                    graph.trees[position],
                    tuple(graph.ids[p] for p in graph.parents[position]),
                    graph.times[position],
                )
            )
    if not commits:
        return
    below_graph = _Below(graph, below)  # the layers kept under the new one, looked up by id
    generations = _generations(commits, below_graph.generations)
    base_hashes = [name for name, _ in layers[:keep]]
    data = _layer_bytes(commits, below_graph, generations, base_hashes)
    name = data[-_HASH_LEN:].hex()
    _atomic_write(graphs / f"graph-{name}.graph", data)
    _atomic_write(graphs / _CHAIN, "".join(f"{h}\n" for h in [*base_hashes, name]).encode())
    if single:
        (info / "commit-graph").unlink(missing_ok=True)
    current = {*base_hashes, name}
    for path in graphs.glob("graph-*.graph"):
        if path.name[len("graph-") : -len(".graph")] not in current:
            # A reader that opened the old chain has read its layers already (whole files).
            path.unlink(missing_ok=True)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, scratch = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(scratch, 0o444)
        os.replace(scratch, path)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise


def commit_for_graph(commit: Commit) -> GraphCommit:
    return GraphCommit(commit.id, commit.tree, tuple(commit.parents), commit.commit_time)
