"""Agreement harness: our ``merge_commits`` versus ``git merge-tree --write-tree``.

Generates seeded, Salesforce DX-shaped histories (Apex classes with their
``-meta.xml``, LWC bundles, custom object fields, permission sets, static
resources, the odd symlink) where two branches apply paired operations to the
same files — conflicting and non-conflicting edits, renames, deletes, mode
changes, directory renames, add/add, binary edits, file/directory clashes,
criss-cross merges — and compares both merges.

    .venv/bin/python benchmarks/merge_agreement.py --cases 300 --seed 1
    .venv/bin/python benchmarks/merge_agreement.py --cases 1000 --seed 1 --chaos
    .venv/bin/python benchmarks/merge_agreement.py --cases 300 --seed 1 --real

``--real`` starts every case from files of real open-source Salesforce DX projects (the
trailheadapps files under ``tests/fixtures/sfdx/``, never the authored ones), a few generated
Apex classes added so that every scenario has something to work on.

The cases come from the ``merge_cases`` package beside this script (the project's files,
the paired scenarios, the commits); this script merges them both ways and compares. Used by
``tests/branching/test_merge.py`` too (imported by path).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dulwich.repo import Repo  # noqa: E402
from merge_cases.cases import Case, build_cases, build_chaos_cases, real_files  # noqa: E402
from merge_cases.content import git  # noqa: E402

from branching.git.merge import MergeAbortedError, Merger  # noqa: E402

__all__ = [
    "GitAnswer",
    "Report",
    "classify",
    "compare_cases",
    "git_merge_tree",
    "real_files",
    "run",
]

# ----------------------------------------------------------------- comparison


@dataclass
class GitAnswer:
    tree: bytes
    conflicts: tuple[str, ...]
    clean: bool


def git_merge_tree(repo: Path, ours: str, theirs: str) -> GitAnswer:
    proc = git(repo, "merge-tree", "--write-tree", "--name-only", "-z", ours, theirs)
    if proc.returncode not in (0, 1):
        raise RuntimeError(proc.stderr.decode())
    fields = proc.stdout.split(b"\0")
    tree = fields[0]
    conflicts: list[str] = []
    if proc.returncode == 1:
        for f in fields[1:]:
            if not f:
                break
            conflicts.append(f.decode("utf-8", "surrogateescape"))
    return GitAnswer(tree, tuple(conflicts), proc.returncode == 0)


@dataclass
class Report:
    total: int = 0
    agree: int = 0
    outcomes: Counter = field(default_factory=Counter)
    by_kind: dict[str, Counter] = field(default_factory=dict)
    conflicted_tree_equal: int = 0
    conflicted_total: int = 0
    git_failed: int = 0
    failures: list[tuple[Case, str]] = field(default_factory=list)

    @property
    def percent(self) -> float:
        return 100.0 * self.agree / self.total if self.total else 100.0

    def render(self) -> str:
        lines = [
            f"agreement: {self.agree}/{self.total} = {self.percent:.2f}%",
            f"conflicted merges with identical trees (markers included): "
            f"{self.conflicted_tree_equal}/{self.conflicted_total}",
            "outcomes: " + ", ".join(f"{k}={v}" for k, v in sorted(self.outcomes.items())),
            f"cases where git itself failed (not counted): {self.git_failed}",
            "by scenario kind (agree/total):",
        ]
        for kind in sorted(self.by_kind):
            c = self.by_kind[kind]
            lines.append(f"  {kind:24s} {c['agree']:4d}/{c['total']:<4d}")
        return "\n".join(lines)


def classify(ours_clean: bool, ours_tree: bytes, ours_conf: tuple, ans: GitAnswer) -> str:
    if ans.clean and ours_clean:
        return "agree" if ours_tree == ans.tree else "clean-tree-differs"
    if not ans.clean and ours_clean:
        return "clean-where-git-conflicts"
    if ans.clean and not ours_clean:
        return "conflict-where-git-clean"
    return "agree" if set(ours_conf) == set(ans.conflicts) else "conflict-set-differs"


def compare_cases(repo: Path, cases: list[Case], merger: Merger | None = None) -> Report:
    merger = merger or Merger(Repo(str(repo)).object_store)
    report = Report()
    for case in cases:
        try:
            ans = git_merge_tree(repo, case.ours_label, case.theirs_label)
        except RuntimeError as exc:
            # git itself can die on an internal assertion (a git bug): we
            # agree when we abort too; anything else is counted apart.
            try:
                merger.merge_commits(case.ours, case.theirs)
            except MergeAbortedError:
                report.total += 1
                report.agree += 1
                report.outcomes["agree (both abort)"] += 1
                continue
            except Exception:  # noqa: BLE001, S110 - reported just below
                pass
            report.git_failed += 1
            report.failures.append((case, f"git failed: {exc}"))
            continue
        try:
            res = merger.merge_commits(
                case.ours, case.theirs, ours_label=case.ours_label, theirs_label=case.theirs_label
            )
            outcome = classify(res.clean, res.tree, res.conflicts, ans)
        except Exception:  # noqa: BLE001 - the harness reports, never hides
            outcome = "error"
            res = None
            report.failures.append((case, traceback.format_exc(limit=-3)))
        report.total += 1
        report.outcomes[outcome] += 1
        if outcome == "agree":
            report.agree += 1
        elif outcome != "error":
            report.failures.append((case, outcome))
        if res is not None and not ans.clean:
            report.conflicted_total += 1
            report.conflicted_tree_equal += res.tree == ans.tree
        for kind in case.kinds:
            c = report.by_kind.setdefault(kind, Counter())
            c["total"] += 1
            c["agree"] += outcome == "agree"
    return report


def run(
    cases: int, seed: int, workdir: Path | None = None, *, chaos: bool = False, real: bool = False
) -> Report:
    """Generate ``cases`` merges (Salesforce-shaped, from real project files, or chaos) and
    compare them."""
    tmp = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="merge-agreement-"))
    tmp.mkdir(parents=True, exist_ok=True)
    if git(tmp, "init", "-q", "--bare").returncode:
        raise RuntimeError(f"cannot create a repository in {tmp}")
    if chaos:
        return compare_cases(tmp, build_chaos_cases(tmp, seed, cases))
    return compare_cases(tmp, build_cases(tmp, seed, cases, real=real))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--show-failures", type=int, default=10)
    parser.add_argument(
        "--chaos", action="store_true", help="random operations in a tiny path space instead"
    )
    parser.add_argument(
        "--real", action="store_true", help="start from real projects' files (tests/fixtures)"
    )
    args = parser.parse_args()
    start = time.perf_counter()
    report = run(args.cases, args.seed, chaos=args.chaos, real=args.real)
    print(report.render())
    for case, what in report.failures[: args.show_failures]:
        print(f"  {what}: {case.ours_label} {case.theirs_label} kinds={','.join(case.kinds)}")
    print(f"({time.perf_counter() - start:.1f}s)")


if __name__ == "__main__":
    main()
