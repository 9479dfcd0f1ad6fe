"""Benchmark: in-process ``merge_commits`` versus a ``git merge-tree`` process.

Generates a Salesforce DX-shaped repository with ``git fast-import`` (a
``develop`` line, feature branches merged back, ``qa``/``uat``/``main``
promotions and hotfixes), picks distinct merge pairs across branches, then
for each pair times our warm, long-lived ``Merger.merge_commits`` against one
``git merge-tree --write-tree`` subprocess and checks that both agree (same
tree when clean, same conflicted paths otherwise).  Prints ratios; asserts
nothing about timing.

    .venv/bin/python benchmarks/merge.py --files 20000 --commits 2000 --merges 30
    .venv/bin/python benchmarks/merge.py --files 20000 --commits 2000 --merges 30 --deep 8000

``--deep N`` is the deep-history mode: ``main`` first gets N commits of its own, and a
long-lived ``release`` branch forked before them is merged with ``develop`` again and again,
so those merges' base is N commits back. The commit-graph is written after generation, as a
fetch would, and git reads the same one.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dulwich.repo import Repo  # noqa: E402
from merge_agreement import classify, git_merge_tree  # noqa: E402
from merge_cases.content import (  # noqa: E402
    BASE,
    CLASS_META,
    EXE,
    REG,
    VERBS,
    WORDS,
    apex_class,
    fast_import,
    field_meta,
    git,
    lwc_html,
    lwc_js,
    lwc_meta,
)
from merge_cases.scenarios import edit_lines  # noqa: E402

from branching.git.history import update_commit_graph  # noqa: E402
from branching.git.merge import Merger  # noqa: E402


class History:
    """Builds the fast-import stream incrementally (M/D lines, not snapshots)."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self.out: list[bytes] = []
        self.mark = 0
        self.time = 1_690_000_000
        self.files: dict[str, dict[str, tuple[int, bytes]]] = {}
        self.tips: dict[str, int] = {}
        self.commits: dict[str, list[int]] = {}
        self.pairs: list[tuple[int, int]] = []  # (ours, theirs) marks of real merges

    def commit(
        self,
        branch: str,
        changes: dict[str, tuple[int, bytes] | None],
        merge_from: str | None = None,
    ) -> int:
        self.mark += 1
        self.time += self.rnd.randint(30, 3600)
        out = self.out
        out.append(f"commit refs/heads/{branch}\nmark :{self.mark}\n".encode())
        out.append(f"committer gen <gen@example.com> {self.time} +0000\n".encode())
        msg = f"{branch}: change {self.mark}\n".encode()
        out.append(b"data %d\n%s" % (len(msg), msg))
        if branch in self.tips:
            out.append(f"from :{self.tips[branch]}\n".encode())
        if merge_from is not None:
            out.append(f"merge :{self.tips[merge_from]}\n".encode())
        state = self.files.setdefault(branch, {})
        for path, value in sorted(changes.items()):
            if value is None:
                out.append(f"D {path}\n".encode())
                state.pop(path, None)
            else:
                mode, content = value
                out.append(f"M {mode:o} inline {path}\n".encode())
                out.append(b"data %d\n%s\n" % (len(content), content))
                state[path] = value
        out.append(b"\n")
        self.tips[branch] = self.mark
        self.commits.setdefault(branch, []).append(self.mark)
        return self.mark

    def branch(self, new: str, start: str) -> None:
        self.files[new] = dict(self.files[start])
        self.tips[new] = self.tips[start]

    def merge(self, into: str, source: str) -> int:
        """A merge commit whose tree takes the source side for files it changed."""
        target = self.files[into]
        src = self.files[source]
        changes: dict[str, tuple[int, bytes] | None] = {}
        for path, value in src.items():
            if target.get(path) != value:
                changes[path] = value
        for path in target:
            if path not in src and self.rnd.random() < 0.5:
                changes[path] = None
        return self.commit(into, changes, merge_from=source)


def initial_files(rnd: random.Random, n_files: int) -> dict[str, tuple[int, bytes]]:
    files: dict[str, tuple[int, bytes]] = {}
    n_classes = int(n_files * 0.55) // 2
    for i in range(n_classes):
        name = f"{rnd.choice(WORDS)}{rnd.choice(['Service', 'Selector', 'Controller'])}{i}"
        files[f"{BASE}/classes/{name}.cls"] = (REG, apex_class(rnd, name))
        files[f"{BASE}/classes/{name}.cls-meta.xml"] = (REG, CLASS_META)
    n_bundles = int(n_files * 0.15) // 3
    for i in range(n_bundles):
        name = f"{rnd.choice(VERBS)}{rnd.choice(WORDS)}{i}"
        files[f"{BASE}/lwc/{name}/{name}.js"] = (REG, lwc_js(rnd, name))
        files[f"{BASE}/lwc/{name}/{name}.html"] = (REG, lwc_html(rnd, name))
        files[f"{BASE}/lwc/{name}/{name}.js-meta.xml"] = (REG, lwc_meta())
    objects = [f"{w}{i}__c" for i, w in enumerate(WORDS * 20)]
    i = 0
    while len(files) < n_files - 10:
        obj = objects[i % len(objects)]
        fname = f"Field{i // len(objects)}__c"
        files[f"{BASE}/objects/{obj}/fields/{fname}.field-meta.xml"] = (REG, field_meta(rnd, fname))
        i += 1
    files["sfdx-project.json"] = (REG, b'{"packageDirectories": [{"path": "force-app"}]}\n')
    files["scripts/deploy.sh"] = (EXE, b"#!/bin/sh\nsf project deploy start\n")
    return files


def random_change(
    rnd: random.Random,
    state: dict[str, tuple[int, bytes]],
    tag: str,
    paths: list[str],
    hot: list[str],
):
    changes: dict[str, tuple[int, bytes] | None] = {}
    for _ in range(rnd.randint(1, 6)):
        path = rnd.choice(hot) if rnd.random() < 0.3 else rnd.choice(paths)
        if path not in state:
            continue
        op = rnd.random()
        mode, content = state[path]
        if op < 0.75:
            region = (rnd.random() * 0.6, 1.0)
            changes[path] = (mode, edit_lines(rnd, content, region, tag))
        elif op < 0.85 and path.endswith(".cls"):
            new = path.replace(".cls", f"{tag.title()}.cls")
            changes[path] = None
            changes[new] = (mode, edit_lines(rnd, content, (0.0, 1.0), tag))
        elif op < 0.92:
            name = f"{rnd.choice(WORDS)}{tag.title()}{rnd.randint(0, 10**6)}"
            changes[f"{BASE}/classes/{name}.cls"] = (REG, apex_class(rnd, name))
            changes[f"{BASE}/classes/{name}.cls-meta.xml"] = (REG, CLASS_META)
        elif op < 0.96:
            changes[path] = None
        else:
            changes[path] = (EXE if mode == REG else REG, content)
    return changes


def generate(
    repo: Path, n_files: int, n_commits: int, seed: int, deep: int = 0
) -> dict[str, list[bytes]]:
    """Create the history; returns branch -> commit ids (oldest first)."""
    rnd = random.Random(seed)
    h = History(rnd)
    base = initial_files(rnd, n_files)
    h.commit("main", dict(base))
    paths = sorted(base)
    hot = rnd.sample([p for p in paths if p.endswith(".cls")], 25)
    if deep:
        h.branch("release", "main")
        for _ in range(deep):
            h.commit("main", random_change(rnd, h.files["main"], "old", paths, hot))
        for _ in range(20):
            h.commit("release", random_change(rnd, h.files["release"], "rel", paths, hot))
        n_commits += deep + 20
    for b in ("develop", "qa", "uat"):
        h.branch(b, "main")
    feature = 0
    while h.mark < n_commits:
        if deep and rnd.random() < 0.2:
            h.pairs.append((h.tips["release"], h.tips["develop"]))
        roll = rnd.random()
        if roll < 0.6:
            feature += 1
            name = f"feature/f{feature}"
            h.branch(name, "develop")
            for _ in range(rnd.randint(2, 12)):
                h.commit(name, random_change(rnd, h.files[name], f"f{feature}", paths, hot))
            # the line moves on meanwhile
            for _ in range(rnd.randint(0, 3)):
                h.commit("develop", random_change(rnd, h.files["develop"], "dev", paths, hot))
            h.pairs.append((h.tips["develop"], h.tips[name]))
            if rnd.random() < 0.8:
                h.merge("develop", name)
        elif roll < 0.75:
            h.pairs.append((h.tips["qa"], h.tips["develop"]))
            h.merge("qa", "develop")
            h.commit("qa", random_change(rnd, h.files["qa"], "qa", paths, hot))
        elif roll < 0.85:
            h.pairs.append((h.tips["uat"], h.tips["qa"]))
            h.merge("uat", "qa")
        elif roll < 0.93:
            h.branch("hotfix", "main")
            h.commit("hotfix", random_change(rnd, h.files["hotfix"], "hot", paths, hot))
            h.merge("main", "hotfix")
            h.pairs.append((h.tips["develop"], h.tips["main"]))
        else:
            h.pairs.append((h.tips["main"], h.tips["uat"]))
            h.merge("main", "uat")
    marks = fast_import(repo, b"".join(h.out))
    commits = {b: [marks[m] for m in ms] for b, ms in h.commits.items()}
    commits["pairs"] = [marks[a] + b":" + marks[b] for a, b in h.pairs]
    return commits


def pick_pairs(
    rnd: random.Random, repo: Path, commits: dict[str, list[bytes]], count: int
) -> list[tuple[bytes, bytes]]:
    """Distinct real merges (the ones the history performed) where both sides moved."""
    candidates = sorted({tuple(p.split(b":")) for p in commits["pairs"]})
    rnd.shuffle(candidates)
    picked: list[tuple[bytes, bytes]] = []
    for a, b in candidates:
        base = git(repo, "merge-base", a.decode(), b.decode()).stdout.strip()
        if base in (a, b):  # fast-forward: not a merge worth timing
            continue
        picked.append((a, b))
        if len(picked) == count:
            break
    return picked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--merges", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repo", type=Path, help="reuse/keep the generated repository here")
    parser.add_argument("--deep", type=int, default=0, help="commits between the forks and now")
    args = parser.parse_args()

    repo = args.repo or Path(tempfile.mkdtemp(prefix="merge-bench-"))
    marker = repo / "bench-commits.txt"
    t0 = time.perf_counter()
    if marker.exists():
        commits: dict[str, list[bytes]] = {}
        for line in marker.read_text().splitlines():
            b, sha = line.split()
            commits.setdefault(b, []).append(sha.encode())
    else:
        repo.mkdir(parents=True, exist_ok=True)
        git(repo, "init", "-q", "--bare")
        commits = generate(repo, args.files, args.commits, args.seed, args.deep)
        git(repo, "repack", "-adq")
        with Repo(str(repo)) as opened:
            update_commit_graph(opened, [ids[-1] for b, ids in commits.items() if b != "pairs"])
        marker.write_text("".join(f"{b} {s.decode()}\n" for b, ss in commits.items() for s in ss))
    n = sum(len(v) for k, v in commits.items() if k != "pairs")
    print(f"repository: {repo} ({n} commits, generated/loaded in {time.perf_counter() - t0:.1f}s)")

    rnd = random.Random(args.seed + 1)
    pairs = pick_pairs(rnd, repo, commits, args.merges + 5)
    warmup, measured = pairs[:5], pairs[5:]
    merger = Merger(Repo(str(repo)).object_store)
    for a, b in warmup:  # imports, pack indexes, the big shared trees
        merger.merge_commits(a, b, ours_label=a.decode(), theirs_label=b.decode())
        git_merge_tree(repo, a.decode(), b.decode())

    ratios, ours_t, git_t = [], [], []
    ours_cpu: list[float] = []
    git_cpu: list[float] = []
    disagreements = 0
    conflicted = 0
    for i, (a, b) in enumerate(measured):
        la, lb = a.decode(), b.decode()

        def run_ours(la: str = la, lb: str = lb, a: bytes = a, b: bytes = b):
            c = time.process_time()
            t = time.perf_counter()
            res = merger.merge_commits(a, b, ours_label=la, theirs_label=lb)
            return time.perf_counter() - t, time.process_time() - c, res

        def run_git(la: str = la, lb: str = lb):
            before = os.times()
            t = time.perf_counter()
            ans = git_merge_tree(repo, la, lb)
            wall = time.perf_counter() - t
            after = os.times()
            cpu = (after.children_user - before.children_user) + (
                after.children_system - before.children_system
            )
            return wall, cpu, ans

        # alternate who runs first, so neither always finds the other's objects
        if i % 2:
            tg, cg, ans = run_git()
            to, co, res = run_ours()
        else:
            to, co, res = run_ours()
            tg, cg, ans = run_git()
        ours_cpu.append(co)
        git_cpu.append(cg)
        outcome = classify(res.clean, res.tree, res.conflicts, ans)
        disagreements += outcome != "agree"
        conflicted += not ans.clean
        ours_t.append(to)
        git_t.append(tg)
        ratios.append(to / tg)
        print(
            f"  {la[:10]} {lb[:10]}  ours {to * 1000:7.1f} ms  git {tg * 1000:7.1f} ms"
            f"  ratio {to / tg:5.2f}  {outcome}{' (conflicts)' if not ans.clean else ''}"
        )
    summary = f"{len(measured)} distinct ({conflicted} conflicted)"
    print(f"merges: {summary}, disagreements: {disagreements}")
    print(f"median ours: {statistics.median(ours_t) * 1000:.1f} ms")
    print(f"median git merge-tree process: {statistics.median(git_t) * 1000:.1f} ms")
    print(f"median ratio (ours / git): {statistics.median(ratios):.2f}")
    ours_cpu_ms = statistics.median(ours_cpu) * 1000
    git_cpu_ms = statistics.median(git_cpu) * 1000
    print(
        f"CPU time (robust to machine load): median ours {ours_cpu_ms:.1f} ms,"
        f" git {git_cpu_ms:.1f} ms, ratio of medians {ours_cpu_ms / max(git_cpu_ms, 1e-6):.2f}"
    )


if __name__ == "__main__":
    main()
