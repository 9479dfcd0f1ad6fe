"""The git layer's operations on the scenario's repository, each against git in the same run."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from scale_scenario.repository import GIT_ENV, Built

T = TypeVar("T")


def median_ms(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def cpu_ms(action: Callable[[], T]) -> tuple[T, float]:
    """What `action` returns, and the CPU time it took, ours and its child processes' (robust
    to a loaded machine, where the clock also counts the time spent waiting for a core)."""
    before, started = os.times(), time.process_time()
    result = action()
    after = os.times()
    children = after.children_user + after.children_system
    children -= before.children_user + before.children_system
    return result, (time.process_time() - started + children) * 1000


def git_version(path: Path) -> str:
    return git(path, "version").stdout.decode().split()[-1]


def git(path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(path), *args], capture_output=True, env=GIT_ENV)


def _ratio_note(ours: list[float], theirs: list[float]) -> str:
    ratios = [o / t for o, t in zip(ours, theirs, strict=True)]
    return f"{statistics.median(ratios):.2f}× ({min(ratios):.2f}–{max(ratios):.2f})"


def merge_rows(
    path: Path, built: Built, label: str, repeats: int
) -> dict[str, tuple[float, float | None, str]]:
    """Merges of the long-lived branches into main in the repository at `path`, each right
    after git's own (`git merge-tree --write-tree`, one process), so that both meet the same
    load; ratios are the median (and range) of those pairs', by the clock and by CPU time.

    - a new process's first merge: a context that has read nothing yet;
    - the first merge of that branch in a process that merged five features before;
    - the same merge again in that process (the amortized case).
    """
    from branching.git import storage
    from branching.git.context import GitContext

    with storage.open_repo(path) as repo:
        heads = storage.branch_heads(repo)
    main = heads["main"]

    def ours(context: GitContext, name: str) -> tuple[object, float, float]:
        started = time.perf_counter()
        result, spent = cpu_ms(
            lambda: context.merger.merge_commits(
                main, heads[name], ours_label="main", theirs_label=name
            )
        )
        return result, (time.perf_counter() - started) * 1000, spent

    def theirs(name: str) -> tuple[bytes, float, float]:
        started = time.perf_counter()
        done, spent = cpu_ms(lambda: git(path, "merge-tree", "--write-tree", "main", name))
        return done.stdout.split()[0], (time.perf_counter() - started) * 1000, spent

    cold: tuple[list[float], ...] = ([], [], [], [])  # ours wall, git wall, ours CPU, git CPU
    first: tuple[list[float], ...] = ([], [], [], [])
    again, again_git = [], []
    for _ in range(repeats):
        for name in built.long_lived:
            fresh = GitContext(path)
            fresh.repo  # noqa: B018 - open the repository and load the graph outside the timing
            _, wall, cpu = ours(fresh, name)
            fresh.close()
            _, git_wall, git_cpu = theirs(name)
            for values, value in zip(cold, (wall, git_wall, cpu, git_cpu), strict=True):
                values.append(value)
        context = GitContext(path)
        for branch, _ in built.features[1:6]:
            context.merger.merge_commits(
                main, heads[branch], ours_label="main", theirs_label=branch
            )
        for name in built.long_lived:
            result, wall, cpu = ours(context, name)
            tree, git_wall, git_cpu = theirs(name)
            assert result.tree == tree, (name, result.tree, tree)  # type: ignore[attr-defined]
            for values, value in zip(first, (wall, git_wall, cpu, git_cpu), strict=True):
                values.append(value)
            _, wall, _ = ours(context, name)
            _, git_wall, _ = theirs(name)
            again.append(wall)
            again_git.append(git_wall)
        context.close()
    med = statistics.median
    return {
        f"merge a long-lived branch ({label}), a new process's first merge": (
            med(cold[0]),
            med(cold[1]),
            f"pairs {_ratio_note(cold[0], cold[1])}, CPU {_ratio_note(cold[2], cold[3])}",
        ),
        f"  the same ({label}), first in a process that merged others": (
            med(first[0]),
            med(first[1]),
            f"pairs {_ratio_note(first[0], first[1])}, CPU {_ratio_note(first[2], first[3])}; "
            "git's tree",
        ),
        f"  the same ({label}) again (amortized, long-lived process)": (
            med(again),
            med(again_git),
            f"pairs {_ratio_note(again, again_git)}",
        ),
    }


def git_operations(built: Built, repeats: int) -> dict[str, tuple[float, float | None, str]]:
    """Each git-layer operation: (ours, git, note), ours warm in a long-lived context."""
    from branching.git import graph as graph_module
    from branching.git import storage
    from branching.git.context import GitContext
    from branching.git.graph import load_commit_graph
    from branching.git.history import update_commit_graph

    path = built.path
    results: dict[str, tuple[float, float | None, str]] = {}
    shutil.rmtree(path / "objects" / "info" / "commit-graphs", ignore_errors=True)
    (path / "objects" / "info" / "commit-graph").unlink(missing_ok=True)
    with storage.open_repo(path) as repo:
        started = time.perf_counter()
        heads = storage.branch_heads(repo)
        written = update_commit_graph(repo, heads.values(), fold=True)
        results["write the commit-graph (all history, once)"] = (
            (time.perf_counter() - started) * 1000,
            None,
            f"{written} commits",
        )
        # A worker has read the graph once; each promotion then adds a commit or two.
        load_commit_graph(repo.object_store.path)
        update, reread = [], []
        parent = heads["main"]
        for n in range(repeats * 2):
            parent = storage.commit_changes(
                repo,
                parent=parent,
                changes={f"force-app/main/default/classes/Late{n}.cls": b"late"},
                message="late",
                author="Dev <dev@acme.example>",
            )
            started = time.perf_counter()
            update_commit_graph(repo, [parent])
            update.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            load_commit_graph(repo.object_store.path)
            reread.append((time.perf_counter() - started) * 1000)
        results["keep the commit-graph current (one new commit)"] = (
            statistics.median(update),
            None,
            "a layer; top layers merged as they grow",
        )
        results["  then read it again (a context's refresh)"] = (
            statistics.median(reread),
            None,
            "only the new layers decoded",
        )
        context = GitContext(path)
        merger = context.merger
        main = heads["main"]
        oldest_branch, oldest_back = built.features[0]
        oldest = heads[oldest_branch]
        fork = git(path, "merge-base", "main", oldest_branch).stdout.strip()

        backs = ", ".join(f"{b:,}" for b in built.scale.long_lived)
        with storage.open_repo(built.fast_import) as copy:  # its own commit-graph, as git's
            update_commit_graph(copy, storage.branch_heads(copy).values(), fold=True)
        for label, at in (
            (f"forked {backs} back", path),
            ("fast-import's pack", built.fast_import),
        ):
            results.update(merge_rows(at, built, label, repeats))
        history = context.history
        ours = median_ms(lambda: history.is_ancestor(fork, main), repeats)
        theirs_ms = median_ms(
            lambda: git(path, "merge-base", "--is-ancestor", fork.decode(), "main"), repeats
        )
        results[f"is_ancestor, {oldest_back:,} commits back"] = (ours, theirs_ms, "")
        line = built.long_lived[-1]

        def bases(a: bytes, b: bytes) -> list[bytes]:
            history._relations.clear()  # measure the walk, not the answer kept from last time
            return history.merge_bases(a, b)

        ours = median_ms(lambda: bases(main, heads[line]), repeats)
        theirs_ms = median_ms(lambda: git(path, "merge-base", "--all", "main", line), repeats)
        results[f"merge_base(main, {line})"] = (ours, theirs_ms, "")
        ours = median_ms(lambda: bases(main, oldest), repeats)
        theirs_ms = median_ms(lambda: git(path, "merge-base", "main", oldest_branch), repeats)
        results["merge base of the oldest feature and main"] = (ours, theirs_ms, "")

        # A fresh context (a new process's first question) for the same is_ancestor.
        def cold() -> None:
            graph_module._loaded.clear()  # what a new process has decoded: nothing
            fresh = GitContext(path)
            fresh.history.is_ancestor(fork, main)
            fresh.close()

        results[f"is_ancestor, {oldest_back:,} back, new process (graph load)"] = (
            median_ms(cold, repeats),
            None,
            "",
        )

        # Dry run of the oldest feature: the merge into main, nothing moves.
        def dry_run() -> None:
            merger.merge_commits(main, oldest, ours_label="main", theirs_label=oldest_branch)

        dry_run()
        results[f"dry-run merge of the oldest feature ({oldest_back:,} behind)"] = (
            median_ms(dry_run, repeats),
            median_ms(
                lambda: git(path, "merge-tree", "--write-tree", "main", oldest_branch), repeats
            ),
            "",
        )

        # Refs by name.
        some = built.features[len(built.features) // 2][0]
        results["one branch head (packed)"] = (
            median_ms(lambda: storage.branch_head(repo, some), repeats * 10),
            median_ms(lambda: git(path, "rev-parse", "--verify", f"refs/heads/{some}"), repeats),
            "git: a whole process",
        )
        counter = iter(range(10**6))

        def create_and_delete() -> None:
            name = f"releasemgr/promotion-{next(counter)}"
            storage.create_branch(repo, name, main)
            storage.delete_branch(repo, name, expected=main)

        results["create + delete a temporary branch"] = (
            median_ms(create_and_delete, repeats * 4),
            None,
            "",
        )

        def clash() -> None:
            try:
                storage.create_branch(repo, f"{some}/x", main)
            except storage.BranchNameClash:
                return
            raise AssertionError("no clash")

        results["branch-name clash check (feature/x under feature)"] = (
            median_ms(clash, repeats * 4),
            None,
            "a clear error",
        )
        context.close()
    return results
