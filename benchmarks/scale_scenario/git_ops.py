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


def git_operations(built: Built, repeats: int) -> dict[str, tuple[float, float | None, str]]:
    """Each git-layer operation: (ours, git, note), ours warm in a long-lived context."""
    from branching.git import storage
    from branching.git.context import GitContext
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
        new = storage.commit_changes(
            repo,
            parent=heads["main"],
            changes={"force-app/main/default/classes/Late.cls": b"late"},
            message="late",
            author="Dev <dev@acme.example>",
        )
        started = time.perf_counter()
        update_commit_graph(repo, [new])
        results["keep the commit-graph current (one new commit)"] = (
            (time.perf_counter() - started) * 1000,
            None,
            "one layer",
        )
        context = GitContext(path)
        merger = context.merger
        main = heads["main"]
        oldest_branch, oldest_back = built.features[0]
        oldest = heads[oldest_branch]
        fork = git(path, "merge-base", "main", oldest_branch).stdout.strip()

        backs = ", ".join(f"{b:,}" for b in built.scale.long_lived)

        # Each long-lived branch merged by a context that has read nothing yet (a new
        # process's first merge), timed by the clock and by CPU time, against git likewise.
        cold, cold_cpu, git_cpu = [], [], []
        for name in built.long_lived:
            fresh = GitContext(path)
            fresh.repo  # noqa: B018 - open the repository and load the graph outside the timing
            started = time.perf_counter()
            _, spent = cpu_ms(
                lambda f=fresh, n=name: f.merger.merge_commits(
                    main, heads[n], ours_label="main", theirs_label=n
                )
            )
            cold.append((time.perf_counter() - started) * 1000)
            cold_cpu.append(spent)
            fresh.close()
            git_cpu.append(
                statistics.median(
                    cpu_ms(lambda n=name: git(path, "merge-tree", "--write-tree", "main", n))[1]
                    for _ in range(repeats)
                )
            )

        # Merges of long-lived branches in a process that has merged before (warm caches), each
        # pair merged for the first time, then once more (the amortized case).
        for branch, _ in built.features[1:6]:
            merger.merge_commits(main, heads[branch], ours_label="main", theirs_label=branch)
        first, first_cpu, again, git_times = [], [], [], []
        for name in built.long_lived:
            theirs = heads[name]
            started = time.perf_counter()
            result, spent = cpu_ms(
                lambda t=theirs, n=name: merger.merge_commits(
                    main, t, ours_label="main", theirs_label=n
                )
            )
            first.append((time.perf_counter() - started) * 1000)
            first_cpu.append(spent)
            got = result.tree
            expected = git(path, "merge-tree", "--write-tree", "main", name).stdout.split()[0]
            assert got == expected, (name, got, expected)  # the same tree as git's
            again.append(
                median_ms(
                    lambda t=theirs, n=name: merger.merge_commits(
                        main, t, ours_label="main", theirs_label=n
                    ),
                    repeats,
                )
            )
            git_times.append(
                median_ms(
                    lambda n=name: git(path, "merge-tree", "--write-tree", "main", n), repeats
                )
            )
        git_cpu_ms = statistics.median(git_cpu)
        results[f"merge a long-lived branch, a new process's first merge (forked {backs} back)"] = (
            statistics.median(cold),
            statistics.median(git_times),
            f"CPU {statistics.median(cold_cpu):.0f} / {git_cpu_ms:.0f} ms = "
            f"{statistics.median(cold_cpu) / git_cpu_ms:.2f}×",
        )
        results["the same, first time in a process that merged other branches before"] = (
            statistics.median(first),
            statistics.median(git_times),
            f"CPU {statistics.median(first_cpu):.0f} / {git_cpu_ms:.0f} ms = "
            f"{statistics.median(first_cpu) / git_cpu_ms:.2f}×; same tree as git",
        )
        results["the same merges again (amortized, long-lived process)"] = (
            statistics.median(again),
            statistics.median(git_times),
            "",
        )
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
