"""The scale scenario of issue 13, rebuilt from a seed, timed against git in the same run.

    .venv/bin/python benchmarks/scale.py                 # the full scenario (about two minutes)
    .venv/bin/python benchmarks/scale.py --small         # the small demo alone
    .venv/bin/python benchmarks/scale.py --repo /tmp/s   # keep (and reuse) the repository

The repository is written by one `git fast-import` stream (seconds, not 10,000 processes):
24,000 Salesforce DX files, 10,000 commits on `main` and three long-lived branches forked 2,500,
5,000 and 8,000 commits back, 3,040 feature branches forked anywhere from 8,100 commits back to
the tip, 300 instance branches and enough archive branches for 4,300 refs in all, packed as a
served repository's would be. The database gets 300 instances, 3,040 features and 5,000
promotions. Then the commit-graph is written (as a fetch or housekeeping would) and each
operation is timed:

- in our process, warm (the long-lived git context a worker or the web process keeps), median;
- against git doing the same in one process (`git merge-tree`, `git merge-base`, ...), median;
- against the same operation on the small demo (200 files, 100 commits, 20 branches).

Pages are fetched through Django's test client as a release manager, with their query counts.
A promotion runs through the engine (no org connection: merge and move), each step timed.
Nothing is asserted: this is a measurement; the counts that must not grow are asserted by
tests/branching/test_history.py and tests/branching/test_refs.py.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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
    return built


def build_or_reuse(link: Path, keep: Path | None, seed: int) -> Built:
    """The full repository at `link`: built there, or in `keep` (reused when built before)."""
    if keep is None:
        started = time.perf_counter()
        built = build(link, FULL, seed)
        print(f"built the repository in {time.perf_counter() - started:.1f} s")
        return built
    marker = keep / "scale-built.json"
    if marker.exists() and json.loads(marker.read_text())["seed"] == seed:
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


# --------------------------------------------------------------------------- timing


def median_ms(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def git_version(path: Path) -> str:
    return git(path, "version").stdout.decode().split()[-1]


def git(path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", "-C", str(path), *args], capture_output=True, env=GIT_ENV)


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

        # Merges of long-lived branches in a process that has merged before (warm caches), each
        # pair merged for the first time, then once more (the amortized case).
        for branch, _ in built.features[1:6]:
            merger.merge_commits(main, heads[branch], ours_label="main", theirs_label=branch)
        first, again, git_times = [], [], []
        for name in built.long_lived:
            theirs = heads[name]
            started = time.perf_counter()
            got = merger.merge_commits(main, theirs, ours_label="main", theirs_label=name).tree
            first.append((time.perf_counter() - started) * 1000)
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
        backs = ", ".join(f"{b:,}" for b in built.scale.long_lived)
        results[f"merge a long-lived branch into main, first time (forked {backs} back)"] = (
            statistics.median(first),
            statistics.median(git_times),
            "median of 3 branches; same tree as git",
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


# --------------------------------------------------------------------------- pages and a promotion


def setup_django(data_dir: Path) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    os.environ["DATA_DIR"] = str(data_dir)
    os.environ["SQLITE_FILE_TESTS"] = "1"
    for variable in ("DATABASE_URL", "REDIS_URL"):
        os.environ.pop(variable, None)
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0)


def populate(built: Built, name: str, seed: int) -> dict[str, object]:
    """Repository, instances in the usual shape, features present here and there, promotions."""
    from django.contrib.auth.models import Group, User

    from branching.git import storage
    from branching.models import Feature, Repository
    from instances.models import Direction, FeaturePresence, Instance, OrgType, Purpose
    from instances.models.promotion import Promotion, PromotionFeature, PromotionStatus
    from releasemgr.roles import RELEASE_MANAGERS

    rnd = random.Random(seed)
    scale = built.scale
    user, _ = User.objects.get_or_create(username="rita-rm")
    user.groups.add(Group.objects.get(name=RELEASE_MANAGERS))
    repository = Repository.objects.create(name=name, storage=built.path.stem, main_branch="main")
    assert repository.local_path == built.path, (repository.local_path, built.path)
    branches = built.instances
    prod = Instance.objects.create(
        repository=repository,
        name=f"{name} Production",
        purpose=Purpose.PRODUCTION,
        org_type=OrgType.PRODUCTION,
        branch=branches[0],
    )
    uat = Instance.objects.create(
        repository=repository,
        name=f"{name} UAT",
        purpose=Purpose.UAT,
        branch=branches[1],
        parent=prod,
    )
    qa = Instance.objects.create(
        repository=repository, name=f"{name} QA", purpose=Purpose.QA, branch=branches[2], parent=uat
    )
    integrations = [
        Instance.objects.create(
            repository=repository,
            name=f"{name} Integration {i}",
            purpose=Purpose.INTEGRATION,
            branch=branches[3 + i],
            parent=qa,
        )
        for i in range(min(4, len(branches) - 4))
    ]
    developers = [
        Instance.objects.create(
            repository=repository,
            name=f"{name} Dev {i}",
            purpose=Purpose.DEVELOPMENT,
            branch=branch,
            parent=integrations[i % len(integrations)],
        )
        for i, branch in enumerate(branches[3 + len(integrations) :])
    ]
    with storage.open_repo(built.path) as repo:
        heads = storage.branch_heads_named(repo, [b for b, _ in built.features])
    features = Feature.objects.bulk_create(
        Feature(
            repository=repository,
            key=f"{name[:2].upper()}-{n + 1}",
            title=f"Feature {n + 1}",
            owner=user,
            branch=branch,
            base_commit="",
            started_from=developers[n % len(developers)],
        )
        for n, (branch, _) in enumerate(built.features)
    )
    presences = []
    for feature in features[1:]:  # the oldest is not brought in yet: the promotion measured
        head = heads[feature.branch]
        assert head is not None
        start = next(d for d in developers if d.pk == feature.started_from_id)
        presences.append(FeaturePresence(feature=feature, instance=start, commit=head.decode()))
        if rnd.random() < 0.4:
            presences.append(
                FeaturePresence(feature=feature, instance_id=start.parent_id, commit=head.decode())
            )
    FeaturePresence.objects.bulk_create(presences)
    promotions = Promotion.objects.bulk_create(
        Promotion(
            target=rnd.choice(integrations),
            source=None,
            direction=Direction.ENTER,
            status=PromotionStatus.SUCCEEDED,
            requested_by=user,
        )
        for _ in range(scale.promotions)
    )
    PromotionFeature.objects.bulk_create(
        PromotionFeature(promotion=p, feature=rnd.choice(features), commit="0" * 40)
        for p in promotions
    )
    return {
        "repository": repository,
        "integration": integrations[0],
        "developer": developers[0],
        "feature": features[len(features) // 2],
        "oldest": features[0],
        "user": user,
    }


def page_operations(world: dict[str, object], repeats: int) -> dict[str, tuple[float, int, str]]:
    """Pages through the test client (time, queries) and one promotion's steps."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from instances.models.promotion import Promotion
    from instances.promotions import engine, rules

    client = Client()
    client.force_login(world["user"])  # type: ignore[arg-type]
    integration = world["integration"]
    feature, oldest = world["feature"], world["oldest"]
    pages = {
        "instance page (integration)": f"/instances/{integration.pk}/",  # type: ignore[attr-defined]
        "feature page": f"/features/{feature.key}/",  # type: ignore[attr-defined]
        "promotion request form, target = integration": (
            f"/promotions/new/?target={integration.pk}"  # type: ignore[attr-defined]
        ),
        "dashboard with live states": "/",
        "metrics page (90 days)": "/metrics/?days=90",
        "metrics CSV (90 days)": "/metrics/metrics.csv?days=90",
    }
    results: dict[str, tuple[float, int, str]] = {}
    for label, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        ms = median_ms(lambda u=url: client.get(u), repeats)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        results[label] = (ms, len(captured), f"{len(response.content) / 1024:.0f} KiB")

    # A promotion of the oldest feature into the instance it started from, step by step.
    target = oldest.started_from  # type: ignore[attr-defined]
    promotion = rules.request_promotion(features=[oldest], target=target, user=world["user"])  # type: ignore[arg-type,list-item]
    steps = [
        ("check", "_check"),
        ("create the temporary branch", "_create_temp_branch"),
        ("merge the feature", "_merge_features"),
        ("deploy (no org: nothing)", "_deploy"),
        ("move the target branch", "_move_target"),
        ("delete the temporary branch", "_delete_temp_branch"),
    ]
    timings: dict[str, tuple[float, int]] = {}
    originals = {}
    for label, attribute in steps:
        original = getattr(engine, attribute)
        originals[attribute] = original

        def timed(*args: object, _o=original, _l=label, **kwargs: object) -> object:
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                out = _o(*args, **kwargs)
                timings[_l] = ((time.perf_counter() - started) * 1000, len(captured))
            return out

        setattr(engine, attribute, timed)
    try:
        started = time.perf_counter()
        status = engine.run_promotion(promotion.pk)
        total = (time.perf_counter() - started) * 1000
    finally:
        for attribute, original in originals.items():
            setattr(engine, attribute, original)
    promotion = Promotion.objects.get(pk=promotion.pk)
    assert status == "succeeded" or promotion.status == "succeeded", (
        status,
        promotion.failure_reason,
    )
    for label, _ in steps:
        ms, queries = timings.get(label, (0.0, 0))
        results[f"promotion step: {label}"] = (ms, queries, "")
    results["promotion, all steps (oldest feature, git only)"] = (total, 0, promotion.status)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--repo", type=Path, help="build the full repository here, or reuse the one built before"
    )
    parser.add_argument("--small", action="store_true", help="only the small demo")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="releasemgr-scale-") as scratch:
        data = Path(scratch)
        setup_django(data)
        repositories = data / "repositories"
        repositories.mkdir(exist_ok=True)
        demo = build(repositories / "demo.git", SMALL, args.seed)
        demo_ops = git_operations(demo, args.repeats)
        demo_pages = page_operations(populate(demo, "Demo", args.seed), args.repeats)
        if args.small:
            full, full_ops, full_pages = demo, demo_ops, demo_pages
        else:
            full = build_or_reuse(repositories / "scale.git", args.repo, args.seed)
            full_ops = git_operations(full, args.repeats)
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
