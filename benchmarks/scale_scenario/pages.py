"""The scenario's database, its pages through the test client, and one promotion's steps."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

from scale_scenario.git_ops import median_ms
from scale_scenario.repository import Built


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
        "many": features[1:41],  # the request form opened for 40 features at once
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
    many = "&".join(f"feature={f.key}" for f in world["many"])  # type: ignore[attr-defined]
    pages = {
        "instance page (integration)": f"/instances/{integration.pk}/",  # type: ignore[attr-defined]
        "feature page": f"/features/{feature.key}/",  # type: ignore[attr-defined]
        "promotion request form, target = integration": (
            f"/promotions/new/?target={integration.pk}"  # type: ignore[attr-defined]
        ),
        "request form for 40 features (demo: 11): target offers": f"/promotions/new/?{many}",
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

    # The dry run of the oldest feature: the form's POST only queues it (a job), a worker runs it.
    from instances.promotions import requests
    from instances.promotions.tasks import promotion_request_job
    from releasemgr.models import Job

    target = oldest.started_from  # type: ignore[attr-defined]
    form = {"features": [oldest.key], "target": target.pk}  # type: ignore[attr-defined]

    def post() -> None:
        response = client.post("/promotions/new/", form)
        assert response.status_code == 302, response.content[:500]

    ms = median_ms(post, repeats)
    with CaptureQueriesContext(connection) as captured:
        post()
    results["dry run: the request's POST (queues the job)"] = (ms, len(captured), "")
    Job.objects.all().delete()
    jobs = [
        requests.queue_request(
            features=[oldest], target=target, user=world["user"], only_dry_run=True
        )  # type: ignore[arg-type,list-item]
        for _ in range(repeats + 1)
    ]
    runs = iter(jobs)
    ms = median_ms(lambda: promotion_request_job(next(runs).pk), repeats)
    with CaptureQueriesContext(connection) as captured:
        assert promotion_request_job(next(runs).pk) == "succeeded"
    results["dry run: the job in a worker (oldest feature, clean)"] = (ms, len(captured), "")

    # A promotion of the oldest feature into the instance it started from, step by step.
    promotion = rules.request_promotion(features=[oldest], target=target, user=world["user"])  # type: ignore[arg-type,list-item]
    steps = [
        ("check", "check"),
        ("create the temporary branch", "create_temp_branch"),
        ("merge the feature", "merge_features"),
        ("deploy (no org: nothing)", "deploy"),
        ("move the target branch", "move_target"),
        ("delete the temporary branch", "delete_temp_branch"),
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
