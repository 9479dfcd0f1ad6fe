"""The demo's last few weeks, played through the real engine: features at every stage.

Every feature is started with `start_feature`, every commit is a real commit on its branch,
and every promotion is requested, approved and run by the same functions the pages and the
task cluster use (the engine runs in this process, one promotion at a time). Only the clock is
told a story: each promotion's times are set back to the day it happened in the story, so the
pages and the metrics show weeks of history. The script itself (the features, the order they
travel, the turns it takes) is data: instances/management/demo/story.py.

What the story leaves behind: two features in production, others half-way up, one stale
after a new commit, one rolled back once (RM-103 out of UAT), one awaiting approval into UAT,
one conflicted into Integration with both sides to look at, one failed into QA (its
validation refused by QA's org, the demo's simulated org, on a component error), one queued
into QA for the task cluster to run (and deploy) when it starts, one held in Scratch CI's queue
by a freeze, back promotions pending into the sandboxes that have not received the latest
work, and a collection for the next release.

QA's org is the demo's simulated org (instances/salesforce/simulation/demo.py), which runs
in this process while the story needs it; without DEMO_SIMULATED_ORG (and DEBUG) QA stays
without an org and the failed validation is left out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from branching.features import start_feature
from branching.git import storage
from branching.models import Collection, Feature, Repository, feature_branch_name
from instances.environments import windows
from instances.environments.tasks import test_org_connection
from instances.management.demo.history import ALICE
from instances.management.demo.story import (
    APPROVED_BY,
    FEATURES,
    JOURNEY,
    REFUSED_FEATURE,
    ROLLED_BACK,
    SIMULATED,
    StoryFeature,
    story_class,
)
from instances.models import (
    Approval,
    AuthMethod,
    Deployment,
    FeaturePresence,
    Instance,
    OrgConnection,
    Promotion,
    PromotionLog,
    PromotionStatus,
    TestLevel,
)
from instances.promotions import engine
from instances.promotions.rules import approve, request_promotion, request_rollback
from instances.salesforce import simulation
from releasemgr.models import AuditEvent

WORKER = "demo-story"


def already_told(repository: Repository) -> bool:
    """The git storage kept from an earlier seed has the story's branches: it is not replayed
    (a feature cannot be started on a branch that exists, and the environments moved on)."""
    with storage.open_repo(repository.local_path) as repo:
        return any(storage.branch_head(repo, _branch(spec)) for spec in FEATURES)


def _branch(spec: StoryFeature) -> str:
    return feature_branch_name(spec.key, spec.title)


def tell(
    repository: Repository, instances: dict[str, Instance], users: dict[str, User]
) -> dict[str, int]:
    """Play the story on the freshly seeded demo; returns counts for the seed's summary."""
    quiet = logging.getLogger("django-q")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # one "Enqueued" line per dispatch is noise here
    try:
        return _tell(repository, instances, users)
    finally:
        quiet.setLevel(level)


def _tell(
    repository: Repository, instances: dict[str, Instance], users: dict[str, User]
) -> dict[str, int]:
    now = timezone.now()
    features = {
        spec.key: _start(repository, instances, users, spec, now - timedelta(days=29))
        for spec in FEATURES
    }
    for spec in FEATURES:
        if spec.files:
            _commit(features[spec.key], spec.files, spec.author, now - timedelta(days=_first(spec)))
    journey: dict[tuple[tuple[str, ...], str], Promotion] = {}
    for days, keys, target, requester in JOURNEY:
        promotion = _promote(
            [features[k] for k in keys], instances[target], users[requester], users
        )
        _set_clock(promotion, now - timedelta(days=days))
        journey[(keys, target)] = promotion
    # Rolled back once: finance found RM-103's banner wrong in UAT, the next day.
    keys, target, days = ROLLED_BACK
    _set_clock(_roll_back(journey[(keys, target)], users), now - timedelta(days=days))
    # RM-106 gets more work after it reached Dev Alice: stale there.
    _commit(
        features["RM-106"],
        story_class("LateFee", "public static Decimal rate() { return 0.025; }"),
        ALICE,
        now - timedelta(hours=20),
        message="Late fee: 2.5 %",
    )
    # RM-109 into QA: the validation in QA's simulated org refuses AccountHealth.
    refused = _refused_in_the_simulated_org(instances[SIMULATED], features, users)
    if refused is not None:
        _set_clock(refused, now - timedelta(hours=9))
    # Waiting for a release manager: RM-107 into UAT.
    waiting = request_promotion(
        features=[features["RM-107"]], target=instances["UAT"], user=users["developer"]
    )
    _set_clock(waiting, now - timedelta(hours=6), finished=False)
    # Conflicted: RM-108 into Integration, where RM-105 wrote the same new class.
    conflicted = _run(
        request_promotion(
            features=[features["RM-108"]], target=instances["Integration"], user=users["developer"]
        )
    )
    _set_clock(conflicted, now - timedelta(hours=3))
    # Queued for the task cluster: RM-105 on to QA, run as soon as `make run` starts the
    # worker (into QA, so that the conflict stays the latest word on Integration).
    request_promotion(
        features=[features["RM-105"]], target=instances["QA"], user=users["developer"]
    )
    # Frozen, with a back promotion holding in its queue until the freeze ends: RM-101 from
    # Integration into Scratch CI, while the CI org is being recreated.
    windows.freeze(
        instances["Scratch CI"],
        users[APPROVED_BY],
        "The CI scratch org is being recreated on the Spring preview release.",
        ends_at=now + timedelta(days=2),
    )
    request_promotion(
        features=[features["RM-101"]], target=instances["Scratch CI"], user=users[APPROVED_BY]
    )
    release = Collection.objects.create(
        name="Release 2026.12",
        description="What goes to production before the holidays.",
        created_by=users[APPROVED_BY],
    )
    release.features.set([features[k] for k in ("RM-103", "RM-104", "RM-107")])
    return {"features": len(features), "promotions": Promotion.objects.count()}


def _roll_back(promotion: Promotion, users: dict[str, User]) -> Promotion:
    """A release manager rolls `promotion` back; another approves where the target asks."""
    rollback = request_rollback(
        promotion,
        users[APPROVED_BY],
        acknowledge=True,
        acknowledged=["Data changed in the org since the promotion"],
    )
    if rollback.status == PromotionStatus.AWAITING_APPROVAL:
        approve(rollback, users["admin"], "The banner text is wrong; take it out of UAT.")
    done = _run(rollback)
    if done.status != PromotionStatus.SUCCEEDED:
        raise RuntimeError(
            f"The demo story's rollback #{done.pk} ended {done.status}: {done.failure_reason}"
        )
    return done


def _refused_in_the_simulated_org(
    qa: Instance, features: dict[str, Feature], users: dict[str, User]
) -> Promotion | None:
    """Connect QA to the demo's simulated org (validate first, run the local tests), test the
    connection, and promote the feature the org refuses: the engine validates, the org
    reports progress, then the component failure, and the promotion fails with it."""
    if not simulation.enabled():
        return None
    from instances.salesforce.simulation.demo import serving  # the server, only in the demo

    with serving() as org:
        connection = OrgConnection(
            instance=qa,
            auth_method=AuthMethod.CLIENT_CREDENTIALS,
            login_url=org.url,
            consumer_key=org.consumer_key,
            client_secret=org.client_secret,
            created_by=users[APPROVED_BY],
        )
        connection.full_clean()
        connection.save()
        AuditEvent.record(
            users[APPROVED_BY], "org connected", qa, {"org": str(connection), "via": "seed_demo"}
        )
        test_org_connection(connection.pk)
        qa.validate_first, qa.test_level = True, TestLevel.RUN_LOCAL_TESTS
        qa.full_clean()
        qa.save(update_fields=["validate_first", "test_level"])
        promotion = _run(
            request_promotion(
                features=[features[REFUSED_FEATURE]], target=qa, user=users["developer"]
            )
        )
    if promotion.status != PromotionStatus.FAILED:
        raise RuntimeError(
            f"The demo story's promotion #{promotion.pk} into {qa.name} should have failed on "
            f"its validation; it ended {promotion.status}: {promotion.failure_reason}"
        )
    return promotion


def _first(spec: StoryFeature) -> float:
    """Days ago of the feature's first commit: a day before it first enters an instance."""
    entries = [days for days, keys, _, _ in JOURNEY if spec.key in keys]
    return (entries[0] if entries else 1) + 1


def _start(
    repository: Repository,
    instances: dict[str, Instance],
    users: dict[str, User],
    spec: StoryFeature,
    when: datetime,
) -> Feature:
    feature = start_feature(
        repository,
        key=spec.key,
        title=spec.title,
        owner=users[spec.owner],
        started_from_id=instances[spec.start_in].pk,
    )
    Feature.objects.filter(pk=feature.pk).update(created_at=when)
    return feature


def _commit(
    feature: Feature, files: dict[str, bytes | None], author: str, when: datetime, message: str = ""
) -> None:
    with storage.open_repo(feature.repository.local_path) as repo:
        old = storage.branch_head(repo, feature.branch)
        assert old is not None, f"{feature.branch} was started a moment ago"
        new = storage.commit_changes(
            repo,
            parent=old,
            changes=dict(files),
            message=message or f"{feature.key}: {feature.title}",
            author=author,
            committer=author,
            when=when,
        )
        storage.update_branch(repo, feature.branch, new, old)


def _promote(
    features: Sequence[Feature], target: Instance, requester: User, users: dict[str, User]
) -> Promotion:
    promotion = request_promotion(features=features, target=target, user=requester)
    if promotion.status == PromotionStatus.AWAITING_APPROVAL:
        approver = users[APPROVED_BY] if requester != users[APPROVED_BY] else users["admin"]
        approve(promotion, approver, "Signed off in the release meeting.")
    done = _run(promotion)
    if done.status != PromotionStatus.SUCCEEDED:
        raise RuntimeError(
            f"The demo story's promotion #{done.pk} ended {done.status}: {done.failure_reason}"
        )
    return done


def _run(promotion: Promotion) -> Promotion:
    engine.run_promotion(promotion.pk, WORKER)
    promotion.refresh_from_db()
    return promotion


def _set_clock(promotion: Promotion, requested: datetime, *, finished: bool = True) -> None:
    """Move a promotion's times (and its log's, approvals', presences') to the story's day.

    Approvals come a few hours after the request, and a worker starts a few minutes after
    that (or after the request): different for every promotion, the same on every seed.
    """
    approved = Approval.objects.filter(promotion=promotion).exists()
    approval_wait = timedelta(hours=1 + promotion.pk % 5) if approved else timedelta()
    started = requested + approval_wait + timedelta(minutes=1 + (promotion.pk * 7) % 23)
    with transaction.atomic():
        Promotion.objects.filter(pk=promotion.pk).update(
            requested_at=requested,
            **(
                {"started_at": started, "finished_at": started + timedelta(minutes=4)}
                if finished
                else {}
            ),
        )
        entries = list(PromotionLog.objects.filter(promotion=promotion).order_by("id"))
        for n, entry in enumerate(entries):
            at = requested if n == 0 else started + timedelta(seconds=10 * n)
            PromotionLog.objects.filter(pk=entry.pk).update(at=at)
        Approval.objects.filter(promotion=promotion).update(at=requested + approval_wait)
        FeaturePresence.objects.filter(promotion=promotion).update(
            at=started + timedelta(minutes=4)
        )
        Deployment.objects.filter(promotion=promotion).update(
            created_at=started + timedelta(minutes=1),
            finished_at=started + timedelta(minutes=3) if finished else None,
        )
