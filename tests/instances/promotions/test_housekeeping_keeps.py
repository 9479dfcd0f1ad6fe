"""Housekeeping never prunes a commit a promotion may still merge, even when no ref reaches it."""

import os
import time

import pytest
from django.contrib.auth.models import User

from branching.git import storage
from branching.tasks import housekeeping
from instances.models import PromotionStatus
from instances.promotions.rules import request_promotion
from instances.signals import commits_promotions_need
from tests.instances.promotions.helpers import INVOICE, commit_to, start

pytestmark = pytest.mark.django_db

MONTH = 30 * 24 * 3600


def force_push_away(feature, to: str) -> None:
    """The developer rewrites the branch: the commit the promotion recorded is unreachable."""
    with storage.open_repo(feature.repository.local_path) as repo:
        old = storage.branch_head(repo, feature.branch)
        storage.update_branch(repo, feature.branch, storage.object_id(to), old)


def age_everything(path) -> None:
    then = time.time() - MONTH
    for root, _dirs, files in os.walk(path / "objects"):
        for name in files:
            os.utime(os.path.join(root, name), (then, then))


def test_a_promotion_awaiting_approval_keeps_its_commit(
    git_pipeline, developer: User, settings, client_for
):
    settings.GIT_PRUNE_AFTER_DAYS = 14
    integration = git_pipeline["integration"]
    integration.requires_approval = True
    integration.save()
    feature = start(git_pipeline, "RM-1", "Invoice totals", developer, where="integration")
    base = feature.base_commit
    waiting = commit_to(feature, {INVOICE: b"public class Invoice {\n  Decimal total;\n}\n"})
    promotion = request_promotion(features=[feature], target=integration, user=developer)
    assert promotion.status == PromotionStatus.AWAITING_APPROVAL
    abandoned = commit_to(feature, {INVOICE: b"public class Invoice {\n  Integer n;\n}\n"})
    force_push_away(feature, base)  # neither commit is on any branch now
    assert waiting in commits_promotions_need(type(feature.repository), integration.storage_key)
    age_everything(feature.repository.local_path)

    summary = housekeeping()

    with storage.open_repo(feature.repository.local_path) as repo:
        store = repo.object_store
        assert storage.object_id(waiting) in store  # the approver may still approve it
        assert storage.read_blob(repo, waiting, INVOICE) is not None
        assert storage.object_id(abandoned) not in store  # nobody needs it: pruned
    # The abandoned commit, its blob and the five trees down to classes/ that it changed.
    assert "pruned 7 loose" in summary
    feature.repository.refresh_from_db()
    assert "pruned 7 loose" in feature.repository.housekeeping_summary
    page = client_for("developer").get(feature.repository.get_absolute_url()).content.decode()
    assert "pruned 7 loose and 0 packed unreachable objects" in page
