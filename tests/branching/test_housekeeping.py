"""The scheduled housekeeping on a real bare repository, and what the repository page shows."""

from __future__ import annotations

import os
import time

import pytest
from django_q.models import Schedule

from branching.git import storage
from branching.git.graph import load_commit_graph
from branching.tasks import housekeeping
from tests.conftest import make_repository, seed_storage

pytestmark = pytest.mark.django_db

AUTHOR = "Alice <alice@acme.example>"


def _age(repo: storage.Repo, sha: bytes, seconds: int) -> None:
    path = repo.object_store._get_shafile_path(sha)
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_it_packs_reachable_loose_objects_and_refs_and_keeps_the_rest(git_repos, client_for):
    repository = make_repository(name="Acme", storage="acme")
    other = make_repository(name="Acme Q1", storage="acme", main_branch="release/q1")
    seed_storage(repository)
    with storage.open_repo(repository.local_path) as repo:
        main = storage.branch_head(repo, "main")
        assert main is not None
        new = storage.commit_changes(
            repo, parent=main, changes={"a.txt": b"a"}, message="a", author=AUTHOR
        )
        storage.update_branch(repo, "main", new, main)
        storage.create_branch(repo, "dev/alice", new)
        reachable = [main, new, repo[new].tree]
        orphan = storage.write_tree(repo, {"orphan.txt": b"nobody points here"})
        recent = storage.write_tree(repo, {"recent.txt": b"a merge in flight"})
        for sha in [*reachable, orphan, *repo.object_store._iter_loose_objects()]:
            if sha != recent:
                _age(repo, sha, 3600)
        loose_before = set(repo.object_store._iter_loose_objects())

    assert "acme" in housekeeping()

    with storage.open_repo(repository.local_path) as repo:
        store = repo.object_store
        loose_after = set(store._iter_loose_objects())
        for sha in reachable:
            assert sha not in loose_after and store.contains_packed(sha)
        assert orphan in loose_after  # unreachable: kept, never pruned
        assert recent in loose_after  # too young to touch
        assert len(loose_after) < len(loose_before)
        assert not (repository.local_path / "refs/heads/main").exists()  # packed
        assert storage.branch_head(repo, "main") == new
        assert storage.branch_head(repo, "dev/alice") == new
        graph = load_commit_graph(store.path)
        assert graph is not None and len(graph) == 2
        chain = repository.local_path / "objects/info/commit-graphs/commit-graph-chain"
        assert len(chain.read_text().split()) == 1

    for each in (repository, other):  # one storage, both Repositories updated
        each.refresh_from_db()
        assert each.housekept_at is not None
        assert each.storage_bytes and each.storage_bytes > 0
        assert "packed" in each.housekeeping_summary
    body = client_for("developer").get(repository.get_absolute_url()).content.decode()
    assert "Last housekeeping" in body and "packed" in body


def test_a_repository_without_local_storage_is_skipped(git_repos):
    make_repository(name="Nowhere", storage="nowhere")
    assert housekeeping() == "no local storage"


def test_it_is_scheduled_daily():
    schedule = Schedule.objects.get(name="Repository housekeeping")
    assert schedule.func == "branching.tasks.housekeeping"
    assert schedule.schedule_type == Schedule.DAILY
