"""The scenario's repository: one `git fast-import` stream from a seed, repacked, and reused."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "LC_ALL": "C",
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": tempfile.gettempdir(),
}
START = 1_700_000_000


@dataclass(frozen=True)
class Scale:
    files: int
    main_commits: int
    long_lived: tuple[int, ...]  # fork points, commits back from main's tip
    long_lived_commits: int
    features: int
    oldest_feature: int  # commits back
    instances: int
    refs: int
    promotions: int


FULL = Scale(24_000, 10_000, (2_500, 5_000, 8_000), 300, 3_040, 8_100, 300, 4_300, 5_000)
SMALL = Scale(200, 100, (30, 60, 80), 10, 12, 90, 7, 20, 20)


@dataclass
class Built:
    path: Path
    scale: Scale
    long_lived: list[str] = field(default_factory=list)
    features: list[tuple[str, int]] = field(default_factory=list)  # branch, fork depth
    instances: list[str] = field(default_factory=list)

    @property
    def fast_import(self) -> Path:
        """The same repository as fast-import packed it, never repacked (see `build`)."""
        return fast_import_copy(self.path)


def fast_import_copy(path: Path) -> Path:
    return path.resolve().with_name(path.resolve().name + "-fast-import")


def _path_of(n: int) -> str:
    kind = n % 4
    if kind == 0:
        return f"force-app/main/default/classes/Service{n:05d}.cls"
    if kind == 1:
        return f"force-app/main/default/classes/Service{n - 1:05d}.cls-meta.xml"
    if kind == 2:
        return (
            f"force-app/main/default/objects/Obj{n // 40:03d}__c/fields/F{n:05d}__c.field-meta.xml"
        )
    return f"force-app/main/default/lwc/cmp{n // 12:04d}/cmp{n // 12:04d}_{n % 12}.js"


def _blob(out: list[bytes], content: bytes) -> None:
    out.append(b"data %d\n%s\n" % (len(content), content))


def build(path: Path, scale: Scale, seed: int) -> Built:
    """The repository, from one fast-import stream; the same seed gives the same commits."""
    rnd = random.Random(seed)
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True, env=GIT_ENV)
    out: list[bytes] = []
    clock = START
    mark = 0

    def commit(ref: str, parent: int | None, changes: list[int], who: str = "Dev") -> int:
        nonlocal clock, mark
        mark += 1
        clock += 60
        out.append(f"commit {ref}\nmark :{mark}\n".encode())
        out.append(f"committer {who} <{who.lower()}@acme.example> {clock} +0000\n".encode())
        _blob(out, f"change {mark}".encode())
        if parent is not None:
            out.append(f"from :{parent}\n".encode())
        for n in changes:
            out.append(f"M 644 inline {_path_of(n)}\n".encode())
            _blob(out, f"// {n} revision {mark}\n{'x' * rnd.randint(40, 200)}\n".encode())
        return mark

    root = commit("refs/heads/main", None, list(range(scale.files)))
    main_marks = [root]
    for _ in range(scale.main_commits - 1):
        main_marks.append(
            commit("refs/heads/main", main_marks[-1], rnd.sample(range(scale.files), 2))
        )
    built = Built(path, scale)
    tip = len(main_marks) - 1
    for i, back in enumerate(scale.long_lived):
        name = f"release/line-{i + 1}"
        at = main_marks[tip - back]
        for _ in range(scale.long_lived_commits):
            at = commit(f"refs/heads/{name}", at, rnd.sample(range(scale.files), 2), "Lead")
        built.long_lived.append(name)
    for n in range(scale.features):
        back = scale.oldest_feature if n == 0 else rnd.randint(0, min(scale.oldest_feature, tip))
        name = f"feature/RM-{n + 1}"
        at = main_marks[tip - back]
        for k in range(rnd.randint(1, 2)):
            # The oldest feature adds files of its own, so its promotion merges cleanly.
            touched = [scale.files + 4 * k, scale.files + 4 * k + 3] if n == 0 else None
            at = commit(
                f"refs/heads/{name}", at, touched or rnd.sample(range(scale.files), 2), "Dev"
            )
        built.features.append((name, back))
    resets = []
    for n in range(scale.instances):
        name = f"env/{n:03d}"
        resets.append((name, main_marks[tip - rnd.randint(0, min(200, tip))]))
        built.instances.append(name)
    extra = scale.refs - scale.features - scale.instances - len(scale.long_lived) - 1
    for n in range(max(0, extra)):
        resets.append((f"archive/{n:04d}", main_marks[rnd.randint(0, tip)]))
    for name, at in resets:
        out.append(f"reset refs/heads/{name}\nfrom :{at}\n\n".encode())
    subprocess.run(
        ["git", "-C", str(path), "fast-import", "--quiet"],
        input=b"".join(out),
        check=True,
        env=GIT_ENV,
    )
    subprocess.run(["git", "-C", str(path), "pack-refs", "--all"], check=True, env=GIT_ENV)
    # fast-import deltifies each blob and tree against the version before it (up to 50 deep,
    # oldest whole), and git's manual says to repack after it: the repository is served as
    # `git repack` packs it (newest whole, deltas against what is most alike), as a clone or
    # a push receives it. fast-import's pack is kept beside it: merges are measured on both.
    copy = fast_import_copy(path)
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(path, copy, symlinks=True)
    subprocess.run(["git", "-C", str(path), "repack", "-adfq"], check=True, env=GIT_ENV)
    return built


def build_or_reuse(link: Path, keep: Path | None, seed: int) -> Built:
    """The full repository at `link`: built there, or in `keep` (reused when built before)."""
    if keep is None:
        started = time.perf_counter()
        built = build(link, FULL, seed)
        print(f"built the repository in {time.perf_counter() - started:.1f} s")
        return built
    marker = keep / "scale-built.json"
    if (
        marker.exists()
        and json.loads(marker.read_text())["seed"] == seed
        and fast_import_copy(keep).exists()
    ):
        saved = json.loads(marker.read_text())
        print(f"reusing {keep}")
        built = Built(keep, FULL, saved["long_lived"], [tuple(f) for f in saved["features"]])
        built.instances = saved["instances"]
    else:
        started = time.perf_counter()
        built = build(keep, FULL, seed)
        print(f"built the repository in {time.perf_counter() - started:.1f} s")
        marker.write_text(
            json.dumps(
                {
                    "seed": seed,
                    "long_lived": built.long_lived,
                    "features": built.features,
                    "instances": built.instances,
                }
            )
        )
    link.symlink_to(keep.resolve())
    built.path = link
    return built
