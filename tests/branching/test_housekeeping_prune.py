"""Housekeeping prunes unreachable objects past the grace period, on real bare repositories,
and never one a writer has just re-used: git fsck (the binary, as oracle) stays clean."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from branching.git import objects, storage
from branching.git.housekeeping import PRUNE_AFTER_SECONDS, housekeep
from branching.git.merge import Merger

AUTHOR = "Alice <alice@acme.example>"
CLS = "force-app/main/default/classes"
OLD = PRUNE_AFTER_SECONDS + 24 * 3600  # a day past the grace period
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "LC_ALL": "C",
}


def age(path: str | Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def age_loose(repo: storage.Repo, seconds: float) -> None:
    store = repo.object_store
    for sha in store._iter_loose_objects():
        age(store._get_shafile_path(sha), seconds)


def loose(repo: storage.Repo) -> set[bytes]:
    return set(repo.object_store._iter_loose_objects())


def fsck(path: Path) -> str:
    """git's own check of the whole repository: connectivity, every object readable."""
    done = subprocess.run(
        ["git", "fsck", "--full", "--strict", "--no-dangling", "--no-progress"],
        cwd=path,
        env=GIT_ENV,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def all_readable(repo: storage.Repo, path: Path) -> None:
    """Every object git can reach from every ref is there, and reads back."""
    listed = subprocess.run(
        ["git", "rev-list", "--objects", "--all"],
        cwd=path,
        env=GIT_ENV,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    shas = [word.encode() for word in listed if len(word) == 40]
    assert shas
    for sha in shas:
        assert repo.object_store[sha].id == sha


@pytest.fixture
def bare(tmp_path: Path) -> tuple[storage.Repo, Path]:
    """main with two commits, a feature branch forked from the first, each changing a class."""
    path = tmp_path / "acme.git"
    repo = storage.init_bare(path)
    base = storage.commit_files(
        repo,
        parents=[],
        tree=storage.write_tree(repo, {f"{CLS}/A.cls": b"class A {}\n", "README": b"acme\n"}),
        message="base",
        author=AUTHOR,
    )
    storage.create_branch(repo, "main", base)
    main = storage.commit_changes(
        repo, parent=base, changes={f"{CLS}/B.cls": b"class B {}\n"}, message="b", author=AUTHOR
    )
    storage.update_branch(repo, "main", main, base)
    feature = storage.commit_changes(
        repo, parent=base, changes={f"{CLS}/C.cls": b"class C {}\n"}, message="c", author=AUTHOR
    )
    storage.create_branch(repo, "feature/RM-1", feature)
    yield repo, path
    repo.close()


def test_an_old_unreachable_object_is_pruned_and_a_recent_one_kept(bare):
    repo, path = bare
    orphan = storage.write_tree(repo, {"orphan.txt": b"nobody points here"})
    orphan_blob = repo.object_store[orphan].items()[0].sha
    age_loose(repo, OLD)
    recent = storage.write_tree(repo, {"recent.txt": b"a dry run of yesterday"})
    age(repo.object_store._get_shafile_path(recent), 24 * 3600)

    report = housekeep(repo)

    assert orphan not in loose(repo) and orphan not in repo.object_store
    assert orphan_blob not in repo.object_store
    assert recent in loose(repo)  # unreachable but inside the grace period: kept
    assert report.loose_pruned == 2
    assert report.loose_unreachable == 1  # the recent tree (its blob is younger still)
    assert report.loose_young == 1
    assert "pruned 2 loose" in report.summary()
    all_readable(repo, path)
    fsck(path)


def test_an_old_object_a_merge_writes_again_is_kept(bare):
    repo, path = bare
    main = storage.branch_head(repo, "main")
    feature = storage.branch_head(repo, "feature/RM-1")
    # A dry run weeks ago: its merge tree, unreachable since (no ref moved).
    first = Merger(repo.object_store).merge_commits(main, feature)
    assert first.clean and first.tree in loose(repo)
    age_loose(repo, OLD)
    # Today a promotion's merge (a new process: nothing in memory) makes the same tree.
    again = Merger(repo.object_store).merge_commits(main, feature)
    assert again.tree == first.tree

    report = housekeep(repo)

    assert report.loose_pruned == 0
    assert again.tree in loose(repo)
    merged = storage.commit_files(
        repo, parents=[main, feature], tree=again.tree, message="merge", author=AUTHOR
    )
    storage.update_branch(repo, "main", merged, main)
    all_readable(repo, path)
    fsck(path)


def test_a_long_lived_cache_freshens_what_it_wrote_long_ago(bare, monkeypatch):
    """A worker's cache skips objects it wrote itself, but not for longer than KNOWN_FOR."""
    repo, _ = bare
    cache = objects.ObjectCache(repo.object_store)
    blob = cache.write_blob(b"written by a merge this morning")
    path = repo.object_store._get_shafile_path(blob)
    age(path, OLD)
    cache.write_blob(b"written by a merge this morning")
    assert time.time() - os.stat(path).st_mtime > PRUNE_AFTER_SECONDS  # recent: skipped
    clock = time.monotonic()
    monkeypatch.setattr(objects.time, "monotonic", lambda: clock + objects.KNOWN_FOR + 1)
    cache.write_blob(b"written by a merge this morning")
    assert time.time() - os.stat(path).st_mtime < 60


def test_storage_writers_freshen_an_existing_object(bare):
    repo, _ = bare
    tree = storage.write_tree(repo, {"again.txt": b"the same content twice"})
    age_loose(repo, OLD)
    assert storage.write_tree(repo, {"again.txt": b"the same content twice"}) == tree
    assert housekeep(repo).loose_pruned == 0
    assert tree in loose(repo)


def packed(repo: storage.Repo, *trees: dict[str, bytes]) -> list[bytes]:
    """Write trees as one pack (not loose), as a fetch or a push does; their ids."""
    from dulwich.objects import Blob, Tree

    ids, written = [], []
    for files in trees:
        tree = Tree()
        for name, data in files.items():
            blob = Blob.from_string(data)
            written.append(blob)
            tree.add(name.encode(), 0o100644, blob.id)
        written.append(tree)
        ids.append(tree.id)
    repo.object_store.add_objects([(obj, None) for obj in written])
    return ids


def test_old_packs_are_rewritten_without_their_unreachable_objects(bare):
    repo, path = bare
    main = storage.branch_head(repo, "main")
    kept_tree, gone_tree = packed(
        repo, {"kept.txt": b"on main soon"}, {"gone.txt": b"force-pushed away"}
    )
    commit = storage.commit_files(
        repo, parents=[main], tree=kept_tree, message="kept", author=AUTHOR
    )
    storage.update_branch(repo, "main", commit, main)
    housekeep(repo, min_age=0)  # everything reachable and loose goes into a pack
    for pack in repo.object_store.packs:
        age(pack._data_path, OLD)
    young_gone = packed(repo, {"young.txt": b"fetched yesterday, unreachable"})[0]

    report = housekeep(repo)

    store = repo.object_store
    assert gone_tree not in store
    assert kept_tree in store and store.contains_packed(kept_tree)
    assert young_gone in store  # its pack is inside the grace period
    assert report.packed_pruned == 2  # the tree and its blob
    assert report.packs_rewritten == 1
    all_readable(repo, path)
    fsck(path)


def test_a_packed_object_written_again_freshens_its_pack(bare):
    repo, path = bare
    (tree,) = packed(repo, {"again.txt": b"packed and unreachable"})
    for pack in repo.object_store.packs:
        age(pack._data_path, OLD)
    assert storage.write_tree(repo, {"again.txt": b"packed and unreachable"}) == tree

    report = housekeep(repo)

    assert report.packed_pruned == 0
    assert tree in repo.object_store
    fsck(path)


def test_commits_named_to_keep_are_kept_with_everything_they_reach(bare):
    repo, path = bare
    main = storage.branch_head(repo, "main")
    waiting = storage.commit_changes(
        repo, parent=main, changes={"w.txt": b"awaiting approval"}, message="w", author=AUTHOR
    )
    age_loose(repo, OLD)

    housekeep(repo, keep=[storage.hex_id(waiting)])

    assert waiting in repo.object_store
    assert storage.read_blob(repo, waiting, "w.txt") == b"awaiting approval"
    assert repo.object_store.contains_packed(waiting)  # kept like the reachable: packed
    for pack in repo.object_store.packs:
        age(pack._data_path, OLD)
    # Once nothing names it (the promotion ended) and its pack is old: the commit, tree, blob.
    assert housekeep(repo).packed_pruned == 3
    assert waiting not in repo.object_store
    all_readable(repo, path)
    fsck(path)
