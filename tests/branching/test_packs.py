"""Objects read straight from pack and loose files (`branching.git.packs`) are dulwich's objects.

Every repository here is built and packed by git itself, with deep delta chains (offset and ref
deltas) and a folder whose tree is tens of kilobytes, changed a few entries at a time.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from dulwich.repo import Repo

from branching.git.packs import ObjectReader

from .conftest import GitRepo

BIG = "force-app/main/default/classes"
BIG_TREE = 64 << 10  # bytes: the folder's tree is bigger (its chain's steps are kept sparsely)


def _history(repo: GitRepo, commits: int = 12) -> None:
    """A folder of 2,000 files (a tree over 64 KiB) changed two files at a time."""
    for n in range(2000):
        repo.write(f"{BIG}/Service{n:04d}.cls", f"// {n}\n")
    repo.write("README.md", "readme\n")
    repo.commit("base")
    for k in range(commits):
        repo.write(f"{BIG}/Service{k:04d}.cls", f"// {k} changed {k}\n" + "x" * 200)
        repo.write("README.md", f"readme {k}\n" + "line\n" * k)
        repo.commit(f"change {k}")


def _all_objects(repo: GitRepo) -> list[bytes]:
    out = repo.git("cat-file", "--batch-all-objects", "--batch-check=%(objectname)")
    return [line.encode() for line in out.split()]


def _max_depth(repo: GitRepo) -> int:
    pack = next((repo.path / ".git" / "objects" / "pack").glob("*.pack"))
    listing = repo.git("verify-pack", "-v", str(pack))
    depths = [int(m) for m in re.findall(r"^chain length = (\d+):", listing, re.M)]
    return max(depths, default=0)


def _assert_same_as_dulwich(repo: GitRepo, reader: ObjectReader) -> int:
    """Every object the repository holds, read both ways; returns how many were big."""
    big = 0
    with Repo(str(repo.path)) as opened:
        for sha in _all_objects(repo):
            found = reader.get_raw(sha)
            assert found is not None, sha
            assert found == opened.object_store.get_raw(sha), sha
            big += len(found[1]) > BIG_TREE
    return big


@pytest.mark.parametrize("offset_deltas", [True, False], ids=["ofs-delta", "ref-delta"])
def test_it_reads_every_packed_object_as_dulwich_does(repo: GitRepo, offset_deltas: bool) -> None:
    _history(repo)
    flag = "true" if offset_deltas else "false"
    repo.git("-c", f"repack.useDeltaBaseOffset={flag}", "repack", "-adfq", "--depth=50")
    assert _max_depth(repo) >= 5  # real delta chains, not whole objects
    reader = ObjectReader(str(repo.path / ".git" / "objects"))
    assert _assert_same_as_dulwich(repo, reader) >= 13  # each commit's big folder tree
    # Again, from the cache of resolved objects.
    assert _assert_same_as_dulwich(repo, reader) >= 13
    reader.close()


def test_it_reads_loose_objects_and_finds_packs_made_after_it_started(repo: GitRepo) -> None:
    _history(repo, commits=3)
    objects = repo.path / ".git" / "objects"
    reader = ObjectReader(str(objects))
    _assert_same_as_dulwich(repo, reader)  # all loose
    repo.git("repack", "-adq")  # packs them and deletes the loose files
    assert not any(p.name != "pack" and p.name != "info" for p in objects.iterdir())
    _assert_same_as_dulwich(repo, reader)  # from the pack it had not listed
    repo.write("new.txt", "new\n")
    repo.commit("loose again")
    repo.git("repack", "-adq")  # a new pack replaces the old one, which is removed
    _assert_same_as_dulwich(repo, reader)
    assert len(os.listdir(objects / "pack")) == 2  # .idx and .pack of the one pack left
    reader.close()


def test_it_leaves_what_it_does_not_have_to_dulwich(tmp_path: Path, repo: GitRepo) -> None:
    _history(repo, commits=1)
    repo.git("repack", "-adq")
    reader = ObjectReader(str(repo.path / ".git" / "objects"))
    assert reader.get_raw(b"0" * 40) is None
    assert not reader.contains_packed(b"0" * 40)
    head = repo.rev("HEAD").encode()
    assert reader.contains_packed(head)
    assert reader.get_raw(b"ab" * 32) is None  # a SHA-256 id: not this reader's
    assert ObjectReader(str(tmp_path / "nowhere")).get_raw(head) is None


def _whole_entries(repo: GitRepo) -> list[tuple[str, int, int]]:
    """(id, size, offset) of each object stored whole (not as a delta) in the one pack."""
    pack = next((repo.path / ".git" / "objects" / "pack").glob("*.pack"))
    listing = repo.git("verify-pack", "-v", str(pack))
    found = re.findall(r"^([0-9a-f]{40}) (?:tree|blob) +(\d+) \d+ (\d+)$", listing, re.M)
    return [(sha, int(size), int(offset)) for sha, size, offset in found]


def test_a_damaged_entry_is_left_to_dulwich_and_the_rest_still_reads(repo: GitRepo) -> None:
    """An entry whose deflate stream is damaged (a big folder's tree, inflated by ISA-L when it
    is installed, and a small file, by zlib) is not answered; every other object still is."""
    _history(repo, commits=2)
    repo.git("repack", "-adfq", "--depth=50")
    entries = _whole_entries(repo)
    big = next(e for e in entries if e[1] > BIG_TREE)
    small = next(e for e in entries if e[1] < 1000)
    pack = next((repo.path / ".git" / "objects" / "pack").glob("*.pack"))
    pack.chmod(0o644)
    data = bytearray(pack.read_bytes())
    for _, _, offset in (big, small):
        pos = offset
        while data[pos] & 0x80:  # the entry's header: type and size, 7 bits a byte
            pos += 1
        data[pos + 1 : pos + 3] = b"\xff\xff"  # past zlib's header: an invalid block
    pack.write_bytes(bytes(data))
    reader = ObjectReader(str(repo.path / ".git" / "objects"))
    for sha, _, _ in (big, small):
        assert reader.get_raw(sha.encode()) is None
    with Repo(str(repo.path)) as opened:
        for sha, _, _ in entries:  # stored whole: none is a delta of a damaged entry
            if sha not in (big[0], small[0]):
                assert reader.get_raw(sha.encode()) == opened.object_store.get_raw(sha.encode())
    reader.close()
