"""How the pipeline dashboard scales: 30, 300 and 1,000 instances.

Run with `make bench` (or `.venv/bin/python benchmarks/dashboard.py`). It sets Django up itself
with tests.settings, a fresh DATA_DIR in a temporary folder and a fresh SQLite test database
file inside it, so it never touches real data, a real cache or a real database: DATABASE_URL
and REDIS_URL are ignored. That is the default single-machine setup (SQLite, the file cache).

Each pipeline has the real shape: production ← UAT ← QA ← a few integration instances ← many
development sandboxes and scratch orgs. 1,000 instances are measured twice: in one big
repository (one diagram of 1,000 nodes), and spread over five repositories of 200 (five
diagrams; the fifth is a long-term project on the first one's storage, promoting into its UAT).
300 instances are measured again under a repository-wide deployment window (weekday evenings,
started three years ago), which each instance's state asks about.

The dashboard is rendered through Django's test Client as a logged-in release manager:
- cold: the SVG cache cleared first, so every diagram is laid out by `dot`;
- warm: the SVG cache holds every diagram;
- queries: the SQL queries of one render (session, user, permissions, repositories, instances).
Times are medians; ratios are against the warm render of 30 instances in the same process.
No assertion is made on timings: this is a measurement, not a test.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_data_dir = tempfile.TemporaryDirectory(prefix="releasemgr-bench-")
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
os.environ["DATA_DIR"] = _data_dir.name
os.environ["SQLITE_FILE_TESTS"] = "1"  # a database file like production's, not :memory:
for variable in ("DATABASE_URL", "REDIS_URL"):
    os.environ.pop(variable, None)

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    setup_test_environment,
    teardown_test_environment,
)
from django.utils import timezone  # noqa: E402

from branching.models import Repository  # noqa: E402
from instances.models import DeploymentWindow, Instance, OrgType, Purpose  # noqa: E402
from releasemgr.roles import RELEASE_MANAGERS  # noqa: E402

COLD_REPEATS = 3
WARM_REPEATS = 7
INTEGRATIONS_PER_REPOSITORY = 4


def add_repository(name: str, storage: str, size: int, **fields: object) -> list[Instance]:
    """One repository's pipeline of `size` instances (at least 4), in the usual shape."""
    repo = Repository.objects.create(name=name, storage=storage, **fields)
    key = repo.pk
    prod = Instance.objects.create(
        repository=repo,
        name=f"Production {key}",
        purpose=Purpose.PRODUCTION,
        org_type=OrgType.PRODUCTION,
        branch=f"r{key}/main",
    )
    uat = Instance.objects.create(
        repository=repo, name=f"UAT {key}", purpose=Purpose.UAT, branch=f"r{key}/uat", parent=prod
    )
    qa = Instance.objects.create(
        repository=repo, name=f"QA {key}", purpose=Purpose.QA, branch=f"r{key}/qa", parent=uat
    )
    integrations = Instance.objects.bulk_create(
        Instance(
            repository=repo,
            storage_key=repo.storage_key,
            name=f"Integration {key}.{n}",
            purpose=Purpose.INTEGRATION,
            branch=f"r{key}/integration/{n}",
            parent=qa,
        )
        for n in range(min(INTEGRATIONS_PER_REPOSITORY, size - 3))
    )
    developers = Instance.objects.bulk_create(
        Instance(
            repository=repo,
            storage_key=repo.storage_key,
            name=f"{'Scratch' if n % 3 == 0 else 'Dev'} {key}.{n}",
            purpose=Purpose.DEVELOPMENT,
            org_type=OrgType.SCRATCH if n % 3 == 0 else OrgType.SANDBOX,
            branch=f"r{key}/dev/{n}",
            parent=integrations[n % len(integrations)],
        )
        for n in range(size - 3 - len(integrations))
    )
    return [prod, uat, qa, *integrations, *developers]


def add_long_term_repository(name: str, storage: str, size: int, parent: Instance) -> None:
    """A long-term project on `storage`: staging promotes into `parent` (another repository)."""
    repo = Repository.objects.create(
        name=name, storage=storage, main_branch="release/2027-q1", is_long_term=True
    )
    staging = Instance.objects.create(
        repository=repo,
        name=f"Q1 Staging {repo.pk}",
        purpose=Purpose.STAGING,
        branch=f"q1-{repo.pk}/staging",
        parent=parent,
    )
    Instance.objects.bulk_create(
        Instance(
            repository=repo,
            storage_key=repo.storage_key,
            name=f"Q1 Dev {repo.pk}.{n}",
            purpose=Purpose.DEVELOPMENT,
            branch=f"q1-{repo.pk}/dev/{n}",
            parent=staging,
        )
        for n in range(size - 1)
    )


def one_repository(size: int) -> Callable[[], None]:
    def build() -> None:
        add_repository("Acme", "acme", size)

    return build


def one_repository_with_a_window(size: int) -> Callable[[], None]:
    """A repository-wide window of weekday evenings, started three years ago: each instance
    asks whether it is open now and, when it is not, when it opens."""

    def build() -> None:
        add_repository("Acme", "acme", size)
        DeploymentWindow.objects.create(
            repository=Repository.objects.get(storage="acme"),
            rule="FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=18",
            starts=timezone.now().replace(hour=18, minute=0) - timedelta(days=3 * 365),
            time_zone="Europe/Paris",
            duration=timedelta(hours=2),
        )

    return build


def five_repositories(size: int) -> Callable[[], None]:
    def build() -> None:
        share = size // 5
        acme = add_repository("Acme", "acme", share)
        for n in range(2, 5):
            add_repository(f"Business unit {n}", f"unit-{n}", share)
        uat = next(i for i in acme if i.purpose == Purpose.UAT)
        add_long_term_repository("Acme — Release 2027-Q1", "acme", size - 4 * share, uat)

    return build


def clear_pipelines() -> None:
    Instance.objects.update(parent=None)  # PROTECT refuses deleting parents before children
    Instance.objects.all().delete()
    Repository.objects.all().delete()


def median_seconds(render: Callable[[], None], repeats: int, before: Callable[[], None]) -> float:
    times = []
    for _ in range(repeats):
        before()
        start = time.perf_counter()
        render()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass
class Result:
    label: str
    instances: int
    repositories: int
    cold: float
    warm: float
    queries: int
    page_kib: float


def measure(client: Client, label: str, build: Callable[[], None]) -> Result:
    clear_pipelines()
    build()
    size = Instance.objects.count()
    repositories = Repository.objects.count()
    page_bytes = 0

    def render() -> None:
        nonlocal page_bytes
        response = client.get("/")
        if response.status_code != 200:
            raise SystemExit(f"The dashboard answered {response.status_code}.")
        page_bytes = len(response.content)

    render()  # let every lazy thing (templates, URL resolvers) load before timing
    cold = median_seconds(render, COLD_REPEATS, before=cache.clear)
    warm = median_seconds(render, WARM_REPEATS, before=lambda: None)
    with CaptureQueriesContext(connection) as captured:
        render()
    queries = len(captured)  # now: the captured list is read from a log the next request resets
    if "<svg" not in client.get("/").content.decode():
        print(f"warning: {label}: no diagram drawn (is Graphviz's dot installed?)")
    return Result(label, size, repositories, cold, warm, queries, page_bytes / 1024)


def print_table(results: list[Result]) -> None:
    reference = results[0].warm
    headers = (
        "pipeline",
        "instances",
        "repos",
        "cold ms",
        "warm ms",
        "queries",
        "page KiB",
        "cold / ref",
        "warm / ref",
    )
    rows = [
        (
            r.label,
            str(r.instances),
            str(r.repositories),
            f"{r.cold * 1000:.1f}",
            f"{r.warm * 1000:.1f}",
            str(r.queries),
            f"{r.page_kib:.0f}",
            f"{r.cold / reference:.1f}×",
            f"{r.warm / reference:.1f}×",
        )
        for r in results
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]

    def line(cells: tuple[str, ...]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
    print(
        f"\nref = the warm render of {results[0].instances} instances "
        f"({reference * 1000:.1f} ms); medians of {COLD_REPEATS} cold and {WARM_REPEATS} warm "
        "renders; cold = SVG cache cleared, warm = SVG cache filled."
    )


def main() -> None:
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0)
    try:
        user = User.objects.create_user("rita-rm", password="benchmark-only")  # noqa: S106
        user.groups.add(Group.objects.get(name=RELEASE_MANAGERS))
        client = Client()
        client.force_login(user)
        print(
            f"Dashboard benchmark: Django test Client, SQLite file in {_data_dir.name}, "
            "file-based SVG cache.\n"
        )
        results = [
            measure(client, "30, one repository", one_repository(30)),
            measure(client, "300, one repository", one_repository(300)),
            measure(client, "300, a window for all", one_repository_with_a_window(300)),
            measure(client, "1,000, one repository", one_repository(1000)),
            measure(client, "1,000, five repositories", five_repositories(1000)),
        ]
        print_table(results)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
        _data_dir.cleanup()


if __name__ == "__main__":
    main()
