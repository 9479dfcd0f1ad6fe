"""Trees written by splicing a base tree's bytes (`ObjectCache.write_tree_spliced`) are the trees
git would write from the whole list of entries, and a splice that does not fit its base is
refused rather than written."""

from __future__ import annotations

import pytest
from dulwich.object_store import MemoryObjectStore
from dulwich.objects import Blob, Tree

from branching.git.objects import S_IFDIR, S_IFREG, ObjectCache

FILE = S_IFREG | 0o644


def _cache_and_base(names: int = 300) -> tuple[ObjectCache, bytes, list[tuple[bytes, int, bytes]]]:
    store = MemoryObjectStore()
    cache = ObjectCache(store)
    entries = []
    for n in range(names):
        blob = Blob.from_string(b"%d\n" % n)
        store.add_object(blob)
        entries.append((b"Service%04d.cls" % n, FILE, blob.id))
    sub = Tree()
    store.add_object(sub)  # the empty tree, as a folder: sorts as "Service0150.cls/"
    entries.append((b"Service0150.cls-meta", S_IFDIR, sub.id))
    return cache, cache.write_tree(entries), entries


def _tree_of(entries: list[tuple[bytes, int, bytes]]) -> bytes:
    tree = Tree()
    for name, mode, sha in entries:
        tree.add(name, mode, sha)
    return tree.id


def test_a_splice_writes_the_tree_of_the_whole_list() -> None:
    cache, base_id, entries = _cache_and_base()
    base = cache.tree_data(base_id)
    assert base_id == _tree_of(entries)
    removed = [entries[0], entries[7], entries[150], entries[-1]]
    changed = (entries[7][0], FILE, entries[8][2])
    added = [changed, (b"Service0150.cls0", FILE, entries[1][2]), (b"A.cls", FILE, entries[2][2])]
    result = cache.write_tree_spliced(base, removed, added)
    kept = [e for e in entries if e not in removed]
    assert result == _tree_of(kept + added)
    assert cache.tree_data(result).as_dict()[entries[7][0]] == (FILE, entries[8][2])


@pytest.mark.parametrize("how", ["other id", "absent name", "twice"])
def test_a_removed_entry_that_is_not_the_base_entry_is_refused(how: str) -> None:
    cache, base_id, entries = _cache_and_base()
    base = cache.tree_data(base_id)
    removed = {
        "other id": [entries[3], (entries[4][0], FILE, entries[5][2])],
        "absent name": [entries[3], (b"Missing.cls", FILE, entries[5][2])],
        "twice": [entries[3], entries[3]],
    }[how]
    with pytest.raises(ValueError, match="removed twice" if how == "twice" else "is not in tree"):
        cache.write_tree_spliced(base, removed, [])
