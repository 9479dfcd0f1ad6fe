"""Helpers for the tests of the feature and promotion pages: real branches, real engine runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User

from branching.features import start_feature
from branching.git import storage
from branching.models import Feature, Repository
from instances.models import (
    Direction,
    FeaturePresence,
    Instance,
    Promotion,
    PromotionFeature,
    PromotionStatus,
)
from instances.promotions import engine
from instances.promotions.rules import request_promotion

INVOICE = "force-app/main/default/classes/Invoice.cls"
TAX = "force-app/main/default/classes/Tax.cls"
APEX_META = b'<?xml version="1.0" encoding="UTF-8"?>\n<ApexClass/>\n'
HOSTILE = '<script>alert("t")</script> & <img src=x onerror=alert(1)> "]; x [label="pwned"'


def head(instance: Instance) -> str:
    with storage.open_repo(instance.repository.local_path) as repo:
        return storage.hex_id(storage.branch_head(repo, instance.branch))


def commit_to(feature: Feature | Instance, changes: dict[str, bytes], message: str = "work") -> str:
    """A commit on the branch of a feature (or, straight, of an instance)."""
    with storage.open_repo(feature.repository.local_path) as repo:
        old = storage.branch_head(repo, feature.branch)
        new = storage.commit_changes(
            repo, parent=old, changes=changes, message=message, author="Dev <dev@example.com>"
        )
        storage.update_branch(repo, feature.branch, new, old)
        return storage.hex_id(new)


def start(pipeline: dict, key: str, title: str, owner: User, where: str = "alice") -> Feature:
    return start_feature(
        pipeline["repo"], key=key, title=title, owner=owner, started_from_id=pipeline[where].pk
    )


@contextmanager
def served_remote(root: Path, owner: User) -> Iterator[dict[str, Any]]:
    """A repository whose storage is a remote (dulwich's smart HTTP on loopback, under `root`):
    Served UAT, Served Dev (branch dev/carol) and the feature RM-7 entering it, all up there."""
    from tests.conftest import make_instance, make_repository
    from tests.gitservers import git, http_git_server, make_upstream

    upstream = make_upstream(root)
    git("-C", upstream, "branch", "dev/carol", "uat")
    git("-C", upstream, "branch", "feature/RM-7", "main")
    with http_git_server(upstream.parent) as base:
        repo = make_repository(name="Served", remote_url=base + upstream.name)
        uat = make_instance(repo, name="Served UAT", branch="uat")
        dev = make_instance(repo, name="Served Dev", branch="dev/carol", parent=uat)
        feature = make_feature(repo, "RM-7", owner, branch="feature/RM-7", started_from=dev)
        yield {"upstream": upstream, "repo": repo, "uat": uat, "dev": dev, "feature": feature}


def run_request_jobs() -> list[str]:
    """Do what a worker does with the queued promotion requests (dry runs) of the request page
    and the API; the statuses they ended with."""
    from instances.promotions.requests import KIND
    from instances.promotions.tasks import promotion_request_job
    from releasemgr.models import Job, JobStatus

    queued = Job.objects.filter(status=JobStatus.QUEUED).order_by("pk")
    return [promotion_request_job(job.pk) for job in queued if job.params.get("kind") == KIND]


def run(promotion: Promotion) -> Promotion:
    engine.run_promotion(promotion.pk, "test-worker")
    promotion.refresh_from_db()
    return promotion


def promote(features: list[Feature], target: Instance, user: User) -> Promotion:
    done = run(request_promotion(features=features, target=target, user=user))
    assert done.status == PromotionStatus.SUCCEEDED, done.failure_reason
    return done


def make_feature(
    repository: Repository, key: str, owner: User, title: str = "A feature", **fields: object
) -> Feature:
    """A feature row without a branch, for pages that do not read git."""
    fields.setdefault("branch", f"feature/{key}")
    return Feature.objects.create(
        repository=repository, key=key, title=title, owner=owner, **fields
    )


def make_promotion(
    target: Instance,
    features: list[Feature],
    user: User,
    *,
    source: Instance | None = None,
    status: str = PromotionStatus.QUEUED,
    **fields: object,
) -> Promotion:
    """A promotion row as `request_promotion` would leave it, without touching git."""
    direction = Direction.ENTER if source is None else Direction.FORWARD
    promotion = Promotion.objects.create(
        target=target,
        source=source,
        direction=fields.pop("direction", direction),
        requested_by=user,
        status=status,
        **fields,
    )
    for n, feature in enumerate(features):
        PromotionFeature.objects.create(
            promotion=promotion, feature=feature, position=n, commit="a" * 40
        )
    return promotion


def place(feature: Feature, *instances: Instance, commit: str = "b" * 40) -> None:
    """Record the feature as present in the instances (as a succeeded promotion would)."""
    for instance in instances:
        FeaturePresence.objects.create(feature=feature, instance=instance, commit=commit)


def seed_everywhere(pipeline: dict, files: dict[str, bytes]) -> str:
    """Commit `files` on the main branch and move every environment branch there, so that
    features started afterwards, and every instance, share them as their base."""
    repository = pipeline["repo"]
    with storage.open_repo(repository.local_path) as repo:
        old = storage.branch_head(repo, repository.main_branch)
        new = storage.commit_changes(
            repo, parent=old, changes=files, message="Base", author="Seed <seed@example.com>"
        )
        branches = {repository.main_branch} | {
            instance.branch for key, instance in pipeline.items() if key != "repo"
        }
        for branch in branches:
            storage.update_branch(repo, branch, new, storage.branch_head(repo, branch))
        return storage.hex_id(new)


def conflict_on(
    pipeline: dict, user: User, path: str, base: bytes, ours: bytes, theirs: bytes
) -> Promotion:
    """A conflicted promotion into Integration: RM-1 (from Dev Alice, already in Integration)
    made `path` `ours`, RM-3 (from Dev Bob) made it `theirs`, both from `base`."""
    seed_everywhere(pipeline, {path: base})
    first = start(pipeline, "RM-1", "Ours", user)
    commit_to(first, {path: ours})
    promote([first], pipeline["alice"], user)
    promote([first], pipeline["integration"], user)
    rival = start(pipeline, "RM-3", "Theirs", user, where="bob")
    commit_to(rival, {path: theirs})
    promote([rival], pipeline["bob"], user)
    promotion = run(request_promotion(features=[rival], target=pipeline["integration"], user=user))
    assert promotion.status == PromotionStatus.CONFLICTED, promotion.failure_reason
    return promotion


def blob_at(instance: Instance, path: str) -> bytes | None:
    with storage.open_repo(instance.repository.local_path) as repo:
        return storage.read_blob(repo, storage.branch_head(repo, instance.branch), path)


def promote_invoice(pipeline: dict, owner: User) -> tuple[Feature, Promotion]:
    """RM-1 through Dev Alice into Integration, for rollbacks: it changes Invoice.cls and
    adds the class Tax. Returns the feature and its succeeded promotion into Integration."""
    feature = start(pipeline, "RM-1", "Invoice totals", owner)
    commit_to(
        feature,
        {
            INVOICE: b"public class Invoice {\n  Decimal total;\n}\n",
            TAX: b"public class Tax {\n}\n",
            TAX + "-meta.xml": APEX_META,
        },
    )
    promote([feature], pipeline["alice"], owner)
    return feature, promote([feature], pipeline["integration"], owner)
