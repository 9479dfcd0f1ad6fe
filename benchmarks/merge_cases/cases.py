"""Merge cases as commits: Salesforce-shaped, from real projects' files, or chaos."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from merge_cases.content import BASE, EXE, LNK, REG, Files, fast_import, random_project
from merge_cases.scenarios import SCENARIOS, apply_scenario, random_noise


@dataclass
class Case:
    """Two commits to merge plus the scenario kinds that went into them."""

    ours: bytes
    theirs: bytes
    kinds: tuple[str, ...]
    ours_label: str
    theirs_label: str


@dataclass
class _Commit:
    ref: str
    files: Files
    parents: list[int]
    mark: int = 0


class _Builder:
    def __init__(self) -> None:
        self.commits: list[_Commit] = []
        self.time = 1_700_000_000

    def commit(self, ref: str, files: Files, parents: list[int]) -> int:
        self.commits.append(_Commit(ref, dict(files), parents, len(self.commits) + 1))
        return len(self.commits)

    def stream(self) -> bytes:
        out: list[bytes] = []
        for c in self.commits:
            self.time += 60
            out.append(f"commit {c.ref}\nmark :{c.mark}\n".encode())
            out.append(f"committer gen <gen@example.com> {self.time} +0000\n".encode())
            msg = f"commit {c.mark}\n".encode()
            out.append(b"data %d\n%s" % (len(msg), msg))
            if c.parents:
                out.append(f"from :{c.parents[0]}\n".encode())
            for p in c.parents[1:]:
                out.append(f"merge :{p}\n".encode())
            out.append(b"deleteall\n")
            for path, (mode, content) in sorted(c.files.items()):
                out.append(f"M {mode:o} inline {path}\n".encode())
                out.append(b"data %d\n%s\n" % (len(content), content))
            out.append(b"\n")
        return b"".join(out)


FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "sfdx"


def real_files() -> Files:
    """Every file copied from a public project into the package fixtures (not `authored/`)."""
    out: Files = {}
    for project in sorted(FIXTURES.iterdir()):
        root = project / "files"
        if project.name == "authored" or not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_file():
                relative = path.relative_to(root).as_posix()
                out[f"{project.name}/{relative}"] = (REG, path.read_bytes())
    return out


def real_project(rnd: random.Random, pool: Files) -> Files:
    """Real project files (a random half of the pool) under one package directory."""
    chosen = rnd.sample(sorted(pool), max(1, len(pool) // 2))
    files: Files = {}
    for key in chosen:
        relative = key.split("/", 1)[1]
        if not relative.startswith("force-app/"):
            relative = f"{BASE}/{relative}"
        files[relative] = pool[key]
    for path, value in random_project(rnd, rnd.randint(2, 4), 1).items():
        files.setdefault(path, value)
    return files


def build_cases(repo: Path, seed: int, count: int, *, real: bool = False) -> list[Case]:
    """Create ``count`` merge cases in the (existing) repository at ``repo``."""
    rnd = random.Random(seed)
    builder = _Builder()
    specs = []
    pool = real_files() if real else {}
    for i in range(count):
        if real:
            base = real_project(rnd, pool)
        else:
            base = random_project(rnd, rnd.randint(3, 10), rnd.randint(1, 4))
        base_mark = builder.commit(f"refs/cases/{i}/base", base, [])
        a = dict(base)
        b = dict(base)
        kinds = []
        for kind in rnd.sample(SCENARIOS, rnd.randint(1, 4)):
            if apply_scenario(rnd, kind, a, b):
                kinds.append(kind)
        random_noise(rnd, a, "ours")
        random_noise(rnd, b, "theirs")
        if rnd.random() < 0.06:
            kinds.append("three-merge-bases")
            c = dict(base)
            random_noise(rnd, c, "third")
            m1 = builder.commit(f"refs/cases/{i}/m1", a, [base_mark])
            m2 = builder.commit(f"refs/cases/{i}/m2", b, [base_mark])
            m3 = builder.commit(f"refs/cases/{i}/m3", c, [base_mark])
            x = builder.commit(f"refs/cases/{i}/x", {**c, **b, **a}, [m1, m2, m3])
            y = builder.commit(f"refs/cases/{i}/y", {**a, **c, **b}, [m3, m2, m1])
            xf, yf = {**c, **b, **a}, {**a, **c, **b}
            random_noise(rnd, xf, "ours")
            random_noise(rnd, yf, "theirs")
            om = builder.commit(f"refs/cases/{i}/ours", xf, [x])
            tm = builder.commit(f"refs/cases/{i}/theirs", yf, [y])
        elif rnd.random() < 0.15:
            kinds.append("criss-cross")
            a1 = builder.commit(f"refs/cases/{i}/a1", a, [base_mark])
            b1 = builder.commit(f"refs/cases/{i}/b1", b, [base_mark])
            # each side "resolves" the cross merge its own way
            a2_files = {**b, **a}
            b2_files = {**a, **b}
            a2 = builder.commit(f"refs/cases/{i}/a2", a2_files, [a1, b1])
            b2 = builder.commit(f"refs/cases/{i}/b2", b2_files, [b1, a1])
            a3_files, b3_files = dict(a2_files), dict(b2_files)
            random_noise(rnd, a3_files, "ours")
            random_noise(rnd, b3_files, "theirs")
            om = builder.commit(f"refs/cases/{i}/ours", a3_files, [a2])
            tm = builder.commit(f"refs/cases/{i}/theirs", b3_files, [b2])
        else:
            om = builder.commit(f"refs/cases/{i}/ours", a, [base_mark])
            tm = builder.commit(f"refs/cases/{i}/theirs", b, [base_mark])
        specs.append((i, om, tm, tuple(kinds) or ("noise",)))
    marks = fast_import(repo, builder.stream())
    return [
        Case(marks[om], marks[tm], kinds, f"cases/{i}/ours", f"cases/{i}/theirs")
        for i, om, tm, kinds in specs
    ]


# ----------------------------------------------------------------- chaos mode

CHAOS_DIRS = ("", "a", "a/b", "c", "c/d", "a/b/e")
CHAOS_NAMES = ("x", "y", "z", "b", "d", "x.txt", "y.cls", "e", "b-1", "e.x", "d-x")


def _chaos_path(rnd: random.Random) -> str:
    return "/".join(x for x in (rnd.choice(CHAOS_DIRS), rnd.choice(CHAOS_NAMES)) if x)


def _chaos_content(rnd: random.Random, tag: str = "") -> bytes:
    vocab = [f"row {i}\n" for i in range(rnd.choice([5, 40]))]
    return ("".join(rnd.choice(vocab) for _ in range(rnd.randint(1, 30))) + tag).encode()


def chaos_mutate(rnd: random.Random, files: Files, tag: str) -> None:
    """Random edits, renames, directory moves, deletes, chmods, symlinks, binaries.

    The path namespace is tiny on purpose, so that paths collide, files and
    directories swap places and directory renames overlap.
    """
    for _ in range(rnd.randint(1, 6)):
        op = rnd.random()
        keys = sorted(files)
        if op < 0.3 and keys:
            p = rnd.choice(keys)
            mode, data = files[p]
            if mode != LNK:
                rows = data.split(b"\n")
                rows[rnd.randrange(len(rows))] = f"{tag} {rnd.randint(0, 99)}".encode()
                files[p] = (mode, b"\n".join(rows))
        elif op < 0.45 and keys:
            files[_chaos_path(rnd)] = files.pop(rnd.choice(keys))
        elif op < 0.55 and keys:
            old = rnd.choice([d for d in CHAOS_DIRS if d])
            new = rnd.choice(["n", "a/n", "c/n2", "m"])
            for p in [p for p in keys if p.startswith(old + "/")]:
                files[new + p[len(old) :]] = files.pop(p)
        elif op < 0.65 and keys:
            del files[rnd.choice(keys)]
        elif op < 0.72 and keys:
            p = rnd.choice(keys)
            mode, data = files[p]
            if mode != LNK:
                files[p] = (EXE if mode == REG else REG, data)
        elif op < 0.78:
            files[_chaos_path(rnd)] = (LNK, rnd.choice([b"x", b"../y"]))
        elif op < 0.82:
            files[_chaos_path(rnd)] = (REG, b"\0bin" + tag.encode())
        else:
            files[_chaos_path(rnd)] = (REG, _chaos_content(rnd, tag))
    paths = sorted(files)
    for p in paths:  # a snapshot cannot hold "p" both as a file and a directory
        if any(q.startswith(p + "/") for q in paths):
            files.pop(p, None)


def build_chaos_cases(repo: Path, seed: int, count: int) -> list[Case]:
    """Small random histories (20% criss-cross) built from :func:`chaos_mutate`."""
    rnd = random.Random(seed)
    builder = _Builder()
    specs = []
    for i in range(count):
        base: Files = {}
        for _ in range(rnd.randint(2, 10)):
            base[_chaos_path(rnd)] = (REG, _chaos_content(rnd))
        chaos_mutate(rnd, base, "base")
        base_mark = builder.commit(f"refs/cases/{i}/base", base, [])
        a, b = dict(base), dict(base)
        chaos_mutate(rnd, a, "ours")
        chaos_mutate(rnd, b, "theirs")
        kinds = ("chaos",)
        if rnd.random() < 0.2:
            kinds = ("chaos", "criss-cross")
            a1 = builder.commit(f"refs/cases/{i}/a1", a, [base_mark])
            b1 = builder.commit(f"refs/cases/{i}/b1", b, [base_mark])
            x, y = dict(a), dict(b)
            chaos_mutate(rnd, x, "xa")
            chaos_mutate(rnd, y, "yb")
            a2 = builder.commit(f"refs/cases/{i}/a2", {**b, **x}, [a1, b1])
            b2 = builder.commit(f"refs/cases/{i}/b2", {**a, **y}, [b1, a1])
            om = builder.commit(f"refs/cases/{i}/ours", {**b, **x}, [a2])
            tm = builder.commit(f"refs/cases/{i}/theirs", {**a, **y}, [b2])
        else:
            om = builder.commit(f"refs/cases/{i}/ours", a, [base_mark])
            tm = builder.commit(f"refs/cases/{i}/theirs", b, [base_mark])
        specs.append((i, om, tm, kinds))
    marks = fast_import(repo, builder.stream())
    return [
        Case(marks[om], marks[tm], kinds, f"cases/{i}/ours", f"cases/{i}/theirs")
        for i, om, tm, kinds in specs
    ]
