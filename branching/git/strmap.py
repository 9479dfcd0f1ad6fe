"""The iteration order of git's ``strmap`` hash maps.

Why: merge-ort walks some hash maps and the walk order leaks into results —
deferred directories are traversed in map order (which decides the order of
rename candidates, hence which of several identical files an exact rename
picks), and ties in directory-rename guesses go to whichever entry the walk
meets first.  git's order is deterministic: FNV-1 hash, 64 buckets to start,
growth ×4 once more than 80% full, new entries pushed at the head of their
bucket, and a rehash that re-pushes old buckets in order.  This module
replays that for a list of keys inserted in order (no removals).
"""

from __future__ import annotations

from collections.abc import Iterable

_FNV32_BASE = 0x811C9DC5
_FNV32_PRIME = 0x01000193
_INITIAL_SIZE = 64
_RESIZE_BITS = 2
_LOAD_FACTOR = 80


def strhash(key: bytes) -> int:
    """git's ``strhash()`` (FNV-1, 32 bit; stops at a NUL like the C string would).

    The low 32 bits of a product depend only on the low 32 bits of its factors, and a byte
    XORed in touches only the low 8, so the hash is masked once per 64 bytes, not per byte.
    """
    end = key.find(b"\0")
    if end >= 0:
        key = key[:end]
    h = _FNV32_BASE
    for start in range(0, len(key), 64):
        for c in key[start : start + 64]:
            h = h * _FNV32_PRIME ^ c
        h &= 0xFFFFFFFF
    return h


def git_iteration_order(keys: Iterable[bytes]) -> list[bytes]:
    """Order in which ``strmap_for_each_entry`` visits keys added in this order."""
    size = _INITIAL_SIZE
    grow_at = size * _LOAD_FACTOR // 100
    table: list[list[tuple[int, bytes]]] = [[] for _ in range(size)]
    for count, key in enumerate(keys, start=1):
        h = strhash(key)
        table[h & (size - 1)].insert(0, (h, key))
        if count > grow_at:
            new_size = size << _RESIZE_BITS
            new_table: list[list[tuple[int, bytes]]] = [[] for _ in range(new_size)]
            for chain in table:
                for entry in chain:
                    new_table[entry[0] & (new_size - 1)].insert(0, entry)
            table = new_table
            size = new_size
            grow_at = size * _LOAD_FACTOR // 100
    return [key for chain in table for _, key in chain]
