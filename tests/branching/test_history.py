"""History questions on a deep history: commit-graph, generation numbers, counted work.

The counts (`History.steps`, commits taken by a walk; `History.commit_reads`, commit objects
parsed) are what these tests assert, never times: a lookup that walked or read the whole history
fails them however fast the machine is.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from pathlib import Path

import pytest

from branching.git import graph as graph_module
from branching.git import storage
from branching.git.graph import CommitGraph, load_commit_graph
from branching.git.history import History, update_commit_graph
from branching.git.merge import Merger
from branching.git.storage import Repo
from tests.branching.test_storage import AUTHOR, START, git, random_history, run_git

DEPTH = 10_000


def fast_import_history(path: Path, length: int) -> None:
    """`length` commits on main (ten minutes apart), `feature` forking 10 commits back with 3
    commits of its own, and `develop` forking at the root with `length // 2` commits of its
    own (a long-lived branch); git fast-import makes this in a fraction of a second."""
    start = int(START.timestamp())
    lines = []
    for n in range(1, length + 1):
        lines += [
            "commit refs/heads/main",
            f"mark :{n}",
            f"committer Alice <alice@acme.example> {start + n * 600} +0000",
            "data 0",
            *([f"from :{n - 1}"] if n > 1 else []),
            f"M 644 inline f{n % 50}.txt",
            f"data {len(str(n))}",
            str(n),
        ]
    for n in range(1, 4):
        lines += [
            "commit refs/heads/feature",
            f"committer Bob <bob@acme.example> {start + (length + n) * 600} +0000",
            "data 0",
            *([f"from :{length - 10}"] if n == 1 else []),
            f"M 644 inline feature{n}.txt",
            "data 1",
            "x",
        ]
    for n in range(1, length // 2 + 1):
        lines += [
            "commit refs/heads/develop",
            f"committer Carol <carol@acme.example> {start + n * 1200 + 7} +0000",
            "data 0",
            *(["from :1"] if n == 1 else []),
            f"M 644 inline develop{n % 20}.txt",
            f"data {len(str(n))}",
            str(n),
        ]
    git(path, "fast-import", "--quiet", stdin="\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def deep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("deep") / "deep.git"
    storage.init_bare(path).close()
    fast_import_history(path, DEPTH)
    return path


def heads(repo: Repo) -> dict[str, bytes]:
    found = storage.branch_heads_named(repo, ["main", "feature", "develop"])
    assert all(found.values())
    return {name: head for name, head in found.items() if head is not None}


def test_it_writes_a_commit_graph_git_accepts_and_reads_it_back(tmp_path: Path) -> None:
    path = tmp_path / "deep.git"
    storage.init_bare(path).close()
    fast_import_history(path, 2_000)  # deeper than Python's recursion limit
    with storage.open_repo(path) as repo:
        tips = heads(repo)
        assert update_commit_graph(repo, tips.values()) == 2_000 + 3 + 1_000
        assert run_git(path, "commit-graph", "verify").returncode == 0
        graph = load_commit_graph(repo.object_store.path)
        assert graph is not None and len(graph) == 3_003
        assert update_commit_graph(repo, tips.values()) == 0  # nothing new: nothing written

        new = storage.commit_changes(
            repo, parent=tips["main"], changes={"new.txt": b"n"}, message="n", author=AUTHOR
        )
        assert update_commit_graph(repo, [new]) == 1  # one new commit: one new layer of one
        chain = (path / "objects/info/commit-graphs/commit-graph-chain").read_text().split()
        assert len(chain) == 2
        assert run_git(path, "commit-graph", "verify").returncode == 0
        # git's own answers use our graph and agree with it.
        assert (
            git(path, "merge-base", "main", "develop").strip()
            == git(path, "rev-list", "--max-parents=0", "main").strip()
        )

        assert update_commit_graph(repo, [new], fold=True) == 0  # housekeeping: one layer
        chain = (path / "objects/info/commit-graphs/commit-graph-chain").read_text().split()
        assert len(chain) == 1
        assert len(list((path / "objects/info/commit-graphs").glob("graph-*.graph"))) == 1
        assert run_git(path, "commit-graph", "verify").returncode == 0


def test_it_answers_recent_questions_on_a_deep_history_without_walking_it(deep: Path) -> None:
    with storage.open_repo(deep) as repo:
        tips = heads(repo)
        update_commit_graph(repo, tips.values())
        history = History.open(repo)
        near = git(deep, "rev-parse", "main~5").strip().encode()
        fork = git(deep, "rev-parse", "main~10").strip().encode()

        assert history.is_ancestor(near, tips["main"])
        assert history.is_ancestor(fork, tips["feature"])
        assert not history.is_ancestor(tips["feature"], tips["main"])
        assert history.ahead_behind(tips["feature"], tips["main"]) == (3, 10)
        assert history.merge_bases(tips["main"], tips["feature"]) == [fork]
        relation = history.relate(fork, tips["feature"])
        assert relation.a_in_b and not relation.b_in_a and relation.merge_bases == (fork,)
        assert history.commit_reads == 0  # everything came from the commit-graph
        assert history.steps < 100  # a few dozen commits of 15,000


def test_it_walks_only_to_the_fork_of_a_long_lived_branch(deep: Path) -> None:
    with storage.open_repo(deep) as repo:
        tips = heads(repo)
        update_commit_graph(repo, tips.values())
        history = History.open(repo)
        root = git(deep, "rev-list", "--max-parents=0", "main").strip().encode()
        assert history.merge_bases(tips["main"], tips["develop"]) == [root]
        assert history.is_ancestor(root, tips["develop"])
        # Both sides down to the fork: what git merge-base walks too, and no more.
        assert history.steps <= 2 * (DEPTH + DEPTH // 2)
        assert history.commit_reads == 0


def test_it_reads_only_commits_the_graph_does_not_hold(deep: Path) -> None:
    with storage.open_repo(deep) as repo:
        tips = heads(repo)
        update_commit_graph(repo, tips.values())
        new = storage.commit_changes(
            repo, parent=tips["main"], changes={"late.txt": b"l"}, message="l", author=AUTHOR
        )
        history = History.open(repo)
        near = git(deep, "rev-parse", "main~3").strip().encode()
        assert history.is_ancestor(near, new)
        assert history.commit_reads == 1
        assert history.steps < 20


def test_a_merger_uses_the_graph_for_merge_bases(deep: Path) -> None:
    with storage.open_repo(deep) as repo:
        tips = heads(repo)
        update_commit_graph(repo, tips.values())
        merger = Merger(repo.object_store)
        result = merger.merge_commits(tips["main"], tips["feature"])
        assert result.clean
        assert merger.history.commit_reads == 0
        assert merger.history.steps < 100
        tree = git(deep, "merge-tree", "--write-tree", "main", "feature").split()[0]
        assert result.tree.decode() == tree


@pytest.mark.parametrize("skew", [0, 600])
def test_it_agrees_with_git_merge_base_all(tmp_path: Path, skew: int) -> None:
    """Merge bases in git's order, with skewed dates and criss-cross merges, half of the
    history in the graph and half read from objects."""
    with storage.init_bare(tmp_path / "r.git") as repo:
        rng = random.Random(7 + skew)
        commits = random_history(repo, rng, 120, skew=skew)
        update_commit_graph(repo, commits[:60])
        history = History.open(repo)
        for _ in range(150):
            a, b = rng.choice(commits), rng.choice(commits)
            expected = run_git(repo, "merge-base", "--all", a.decode(), b.decode()).stdout.split()
            assert [x.decode() for x in history.merge_bases(a, b)] == expected, (a, b)
        assert 0 < history.commit_reads <= 60


def test_keeping_the_graph_current_decodes_only_the_new_commits(
    deep: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a promotion's new commits the graph is written and read again by every process
    that holds it: each decodes the new layer (or the top layers it was merged into), never the
    15,000 commits below, and answers as it would from a graph read whole."""
    decoded: list[int] = []
    add_layer = CommitGraph._add_layer

    def counting(graph: CommitGraph, name: str, data: bytes) -> None:
        before = len(graph)
        add_layer(graph, name, data)
        decoded.append(len(graph) - before)

    monkeypatch.setattr(CommitGraph, "_add_layer", counting)
    with storage.open_repo(deep) as repo:
        tips = heads(repo)
        update_commit_graph(repo, tips.values())
        whole = load_commit_graph(repo.object_store.path)
        assert whole is not None and len(whole) > DEPTH
        parent = tips["main"]
        for n in range(6):
            decoded.clear()
            parent = storage.commit_changes(
                repo, parent=parent, changes={f"late{n}.txt": b"l"}, message="l", author=AUTHOR
            )
            assert update_commit_graph(repo, [parent]) == 1
            graph = load_commit_graph(repo.object_store.path)
            assert graph is not None and len(graph) == len(whole) + n + 1
            assert graph.position(parent) is not None
            assert sum(decoded) <= 8  # the new layer, or the few small ones merged into it
            history = History(repo.object_store, graph)
            assert history.is_ancestor(tips["main"], parent)
            assert history.merge_bases(parent, tips["feature"]) == history.merge_bases(
                tips["main"], tips["feature"]
            )
            assert history.commit_reads == 0
        # A graph read whole by a process that never saw it agrees with the kept one.
        monkeypatch.setattr(graph_module, "_loaded", OrderedDict())
        fresh = load_commit_graph(repo.object_store.path)
        assert fresh is not None and fresh.ids == graph.ids and fresh.parents == graph.parents
        assert fresh.generations == graph.generations and fresh.layers == graph.layers
