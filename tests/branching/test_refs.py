"""Refs by name on a repository with thousands of branches, loose and packed.

Listing refs is spied on (dulwich's `allkeys`, which every listing goes through, and its
whole-file packed-refs parse): a lookup, a branch creation, a compare-and-swap, a deletion or a
clash check that listed or parsed all refs fails these tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dulwich.refs import DiskRefsContainer

from branching.git import storage
from branching.git.storage import BranchNameClash, RefMoved, Repo
from tests.branching.test_storage import AUTHOR, git

BRANCHES = 3_000


@pytest.fixture
def crowded(tmp_path: Path) -> Iterator[tuple[Repo, bytes]]:
    """A repository with BRANCHES branches (packed), `feature` and `team/one` among them."""
    with storage.init_bare(tmp_path / "crowded.git") as repo:
        head = storage.commit_files(
            repo, parents=[], files={"a.txt": b"a"}, message="a", author=AUTHOR
        )
        storage.create_branch(repo, "main", head)
        names = [f"f/{n:05d}" for n in range(BRANCHES)] + ["feature", "team/one"]
        lines = "".join(f"{head.decode()} refs/heads/{name}\n" for name in sorted(names))
        (Path(repo.path) / "packed-refs").write_text(
            "# pack-refs with: peeled fully-peeled sorted \n" + lines
        )
        git(repo, "pack-refs", "--all")  # main too, and git checks the file
        yield repo, head


@pytest.fixture
def no_listing(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []

    def spy(name: str):  # type: ignore[no-untyped-def]
        original = getattr(DiskRefsContainer, name)

        def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(name)
            return original(self, *args, **kwargs)

        return wrapper

    for name in ("allkeys", "get_packed_refs"):
        monkeypatch.setattr(DiskRefsContainer, name, spy(name))
    return calls


def test_it_reads_one_head_without_listing_refs(
    crowded: tuple[Repo, bytes], no_listing: list[str]
) -> None:
    repo, head = crowded
    assert storage.branch_head(repo, "f/01234") == head  # packed
    assert storage.branch_head(repo, "main") == head  # loose
    assert storage.branch_head(repo, "f/99999") is None
    assert storage.branch_head(repo, "f") is None  # a folder of branches is no branch
    assert storage.branch_heads_named(repo, ["feature", "nope"]) == {"feature": head, "nope": None}
    assert no_listing == []


def test_it_creates_moves_and_deletes_branches_without_listing_refs(
    crowded: tuple[Repo, bytes], no_listing: list[str]
) -> None:
    repo, head = crowded
    new = storage.commit_changes(
        repo, parent=head, changes={"b.txt": b"b"}, message="b", author=AUTHOR
    )
    storage.create_branch(repo, "releasemgr/promotion-1", head)
    storage.update_branch(repo, "releasemgr/promotion-1", new, head)
    storage.update_branch(repo, "f/00007", new, head)  # a packed branch moves (loose now)
    with pytest.raises(RefMoved):
        storage.update_branch(repo, "f/00008", new, new)
    storage.delete_branch(repo, "releasemgr/promotion-1", expected=new)
    storage.delete_branch(repo, "f/00009", expected=head)  # packed: its line is removed
    assert no_listing == []
    assert storage.branch_head(repo, "f/00007") == new
    assert storage.branch_head(repo, "f/00009") is None
    assert storage.branch_head(repo, "releasemgr/promotion-1") is None
    # git agrees with every one of those ref files.
    assert git(repo, "rev-parse", "f/00007").strip() == new.decode()
    assert "refs/heads/f/00009" not in git(repo, "for-each-ref", "--format=%(refname)")
    assert not (Path(repo.path) / "refs/heads/releasemgr").exists()  # no empty folder left


@pytest.mark.parametrize(
    ("name", "existing"),
    [
        ("feature/x", "feature"),  # a packed branch blocks its folder
        ("team", "team/one"),  # a packed branch inside blocks the name
        ("main/x", "main"),  # a loose one, too
    ],
)
def test_a_branch_name_clash_is_a_clear_error(
    crowded: tuple[Repo, bytes], no_listing: list[str], name: str, existing: str
) -> None:
    repo, head = crowded
    with pytest.raises(BranchNameClash) as raised:
        storage.create_branch(repo, name, head)
    assert raised.value.existing == existing
    assert existing in str(raised.value) and "cannot be created" in str(raised.value)
    assert isinstance(raised.value, storage.RefError)
    with pytest.raises(BranchNameClash):
        storage.update_branch(repo, name, head, None)
    assert no_listing == []


def test_a_loose_branch_below_blocks_its_folder_name(crowded: tuple[Repo, bytes]) -> None:
    repo, head = crowded
    storage.create_branch(repo, "dev/alice", head)
    with pytest.raises(BranchNameClash) as raised:
        storage.create_branch(repo, "dev", head)
    assert raised.value.existing == "dev/alice"
    storage.delete_branch(repo, "dev/alice")
    storage.create_branch(repo, "dev", head)  # the folder went with its last branch


def test_it_packs_loose_refs_without_changing_any(crowded: tuple[Repo, bytes]) -> None:
    repo, head = crowded
    new = storage.commit_changes(
        repo, parent=head, changes={"c.txt": b"c"}, message="c", author=AUTHOR
    )
    for n in range(20):
        storage.create_branch(repo, f"dev/{n}", new)
    storage.update_branch(repo, "f/00001", new, head)
    before = git(repo, "for-each-ref", "--format=%(refname) %(objectname)")
    assert storage.pack_refs(repo) == 21  # f/00001 and the twenty dev/ branches
    assert git(repo, "for-each-ref", "--format=%(refname) %(objectname)") == before
    assert not list((Path(repo.path) / "refs/heads").rglob("*[0-9]"))
    assert storage.branch_head(repo, "dev/7") == new
    storage.update_branch(repo, "dev/7", head, new)  # a packed ref still moves by CAS
    assert storage.branch_head(repo, "dev/7") == head
