"""The scale scenario of issue 13, rebuilt from a seed, timed against git in the same run.

    .venv/bin/python benchmarks/scale.py                 # the full scenario (builds for minutes)
    .venv/bin/python benchmarks/scale.py --small         # the small demo alone
    .venv/bin/python benchmarks/scale.py --repo /tmp/s   # keep (and reuse) the repository
    .venv/bin/python benchmarks/scale.py --repo /tmp/s --git-only   # no database, no pages

The repository is written by one `git fast-import` stream (seconds, not 10,000 processes):
24,000 Salesforce DX files, 10,000 commits on `main` and three long-lived branches forked 2,500,
5,000 and 8,000 commits back, 3,040 feature branches forked anywhere from 8,100 commits back to
the tip, 300 instance branches and enough archive branches for 4,300 refs in all, refs packed
and objects repacked by `git repack -adf` as a served repository's are (git's manual says to
repack after fast-import; a clone or a push receives what git's pack-objects makes).
fast-import's own pack (each version a delta of the one before, oldest whole) is kept beside
it, and the merges are measured on both. The database gets 300 instances, 3,040 features and
5,000 promotions. Then the commit-graph is written (as a fetch or housekeeping would) and each
operation is timed:

- in our process, warm (the long-lived git context a worker or the web process keeps), median;
- against git doing the same in one process (`git merge-tree`, `git merge-base`, ...), median;
  a merge is timed right after git's, pair by pair, and the ratio is the pairs' median;
- against the same operation on the small demo (200 files, 100 commits, 20 branches).

Pages are fetched through Django's test client as a release manager, with their query counts.
A promotion runs through the engine (no org connection: merge and move), each step timed.
Nothing is asserted: this is a measurement; the counts that must not grow are asserted by
tests/branching/test_history.py and tests/branching/test_refs.py.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from scale_scenario.git_ops import git_operations, git_version  # noqa: E402
from scale_scenario.pages import page_operations, populate, setup_django  # noqa: E402
from scale_scenario.repository import SMALL, build, build_or_reuse  # noqa: E402


@dataclass
class Row:
    operation: str
    ours_ms: float
    git_ms: float | None = None
    demo_ms: float | None = None
    queries: int | None = None
    note: str = ""

    def line(self) -> str:
        def ratio(base: float | None) -> str:
            return f"{self.ours_ms / base:5.2f}×" if base else "   —  "

        git_text = f"{self.git_ms:8.1f}" if self.git_ms is not None else "       —"
        demo_text = f"{self.demo_ms:8.1f}" if self.demo_ms is not None else "       —"
        queries = f"{self.queries:4d}" if self.queries is not None else "   —"
        return (
            f"| {self.operation:<58} | {self.ours_ms:8.1f} | {git_text} | {ratio(self.git_ms)} "
            f"| {demo_text} | {ratio(self.demo_ms)} | {queries} | {self.note}"
        )


HEADER = (
    f"| {'operation':<58} | ours ms  |  git ms  | /git   |  demo ms | /demo  | qry  |\n"
    f"|{'-' * 60}|----------|----------|--------|----------|--------|------|"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--repo", type=Path, help="build the full repository here, or reuse the one built before"
    )
    parser.add_argument("--small", action="store_true", help="only the small demo")
    parser.add_argument(
        "--git-only",
        action="store_true",
        help="only the git layer: no database, pages or promotion",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="releasemgr-scale-") as scratch:
        data = Path(scratch)
        setup_django(data)
        repositories = data / "repositories"
        repositories.mkdir(exist_ok=True)
        demo = build(repositories / "demo.git", SMALL, args.seed)
        demo_ops = git_operations(demo, args.repeats)
        demo_pages: dict[str, tuple[float, int, str]] = {}
        if not args.git_only:
            demo_pages = page_operations(populate(demo, "Demo", args.seed), args.repeats)
        if args.small:
            full, full_ops, full_pages = demo, demo_ops, demo_pages
        else:
            full = build_or_reuse(repositories / "scale.git", args.repo, args.seed)
            full_ops = git_operations(full, args.repeats)
            full_pages = {}
            if not args.git_only:
                started = time.perf_counter()
                world = populate(full, "Scale", args.seed)
                print(f"filled the database in {time.perf_counter() - started:.1f} s")
                full_pages = page_operations(world, args.repeats)
        s = full.scale
        print(
            f"\n{s.files:,} files, {s.main_commits:,} commits on main, {s.refs:,} refs, "
            f"{s.instances} instances, {s.features:,} features, {s.promotions:,} promotions; "
            f"medians of {args.repeats}; git {git_version(full.path)}"
            " reading the same repository (and the same commit-graph).\n"
        )
        print(HEADER)
        for (name, (ours, git_ms, note)), demo_row in zip(
            full_ops.items(), demo_ops.values(), strict=True
        ):
            print(Row(name, ours, git_ms, demo_row[0], None, note).line())
        for (name, (ours, queries, note)), demo_row in zip(
            full_pages.items(), demo_pages.values(), strict=True
        ):
            print(Row(name, ours, None, demo_row[0], queries, note).line())


if __name__ == "__main__":
    main()
