"""Approvals bound to exactly what they approved, and approval policies: through the page POST,
the command line and the engine, on real bare repositories."""

import html

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from instances.models import Approval, ApprovalPolicy, PromotionStatus
from instances.promotions.approvals import current_digest
from instances.promotions.errors import PromotionError
from instances.promotions.rules import approve, request_promotion
from releasemgr.roles import RELEASE_MANAGERS
from tests.conftest import make_user
from tests.instances.promotions.helpers import INVOICE, commit_to, promote, run, start

pytestmark = pytest.mark.django_db

RESOLVED = "public class Invoice {\n  Decimal total;\n  Integer count;\n}\n"
HOSTILE = "public class Invoice {\n  // <script>alert(1)</script>\n}\n"


@pytest.fixture
def gated_conflict(git_pipeline, developer, release_manager):
    """RM-3 into an approval-gated Integration: approved, then conflicted with RM-1's change."""
    p = git_pipeline
    first = start(p, "RM-1", "Invoice totals", developer)
    commit_to(first, {INVOICE: b"public class Invoice {\n  Decimal total;\n}\n"})
    promote([first], p["alice"], developer)
    promote([first], p["integration"], developer)
    rival = start(p, "RM-3", "Invoice count", developer, where="bob")
    commit_to(rival, {INVOICE: b"public class Invoice {\n  Integer count;\n}\n"})
    promote([rival], p["bob"], developer)
    p["integration"].requires_approval = True
    p["integration"].save(update_fields=["requires_approval"])
    promotion = request_promotion(features=[rival], target=p["integration"], user=developer)
    assert promotion.status == PromotionStatus.AWAITING_APPROVAL
    approve(promotion, release_manager, "Looks fine")
    promotion = run(promotion)
    assert promotion.status == PromotionStatus.CONFLICTED
    return promotion


def test_a_resolution_posted_after_the_approval_needs_a_new_one(
    client_for, gated_conflict, release_manager
):
    promotion = gated_conflict
    [old] = promotion.approvals.all()
    response = client_for("developer").post(
        reverse("promotion_resolve", args=[promotion.pk]), {"resolution_0": HOSTILE}
    )
    assert response.status_code == 302
    promotion.refresh_from_db()
    assert promotion.status == PromotionStatus.AWAITING_APPROVAL
    assert old.digest != current_digest(promotion)
    assert promotion.log.filter(message__contains="it needs approval again").exists()
    # The worker does nothing with it meanwhile.
    assert run(promotion).status == PromotionStatus.AWAITING_APPROVAL

    # The approver sees the resolution as a diff against both sides, escaped.
    page = client_for("release_manager").get(promotion.get_absolute_url())
    body = page.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>alert(1)" not in body
    text = html.unescape(body)
    assert "--- ours (integration)" in text and "--- theirs (the feature)" in text
    assert "-  Decimal total;" in text and "-  Integer count;" in text
    assert "+  // <script>alert(1)</script>" in text

    client_for("release_manager").post(
        reverse("promotion_approve", args=[promotion.pk]), {"reason": "Resolution checked"}
    )
    promotion.refresh_from_db()
    assert promotion.status == PromotionStatus.QUEUED
    assert run(promotion).status == PromotionStatus.SUCCEEDED


def test_the_engine_checks_the_digest_not_just_that_an_approval_exists(
    git_pipeline, developer, release_manager
):
    p = git_pipeline
    feature = start(p, "RM-4", "Tax", developer)
    commit_to(feature, {"force-app/main/default/classes/Tax.cls": b"public class Tax {}\n"})
    promote([feature], p["alice"], developer)
    p["integration"].requires_approval = True
    p["integration"].save(update_fields=["requires_approval"])
    promotion = request_promotion(features=[feature], target=p["integration"], user=developer)
    approve(promotion, release_manager)
    assert promotion.status == PromotionStatus.QUEUED
    # What is promoted changes behind the approval's back (a direct edit of the row).
    later = commit_to(feature, {"force-app/main/default/classes/Tax.cls": b"// not reviewed\n"})
    promotion.items.update(commit=later)
    promotion.resolutions = {INVOICE: "public class Invoice {}\n"}
    promotion.save(update_fields=["resolutions"])
    done = run(promotion)
    assert done.status == PromotionStatus.FAILED
    assert "cover other commits or resolutions than these" in done.failure_reason
    assert done.target_head_after == ""


def test_a_policy_asks_for_two_approvals_from_a_group_and_never_the_last_committer(
    client_for, git_pipeline, developer, release_manager
):
    p = git_pipeline
    approvers = Group.objects.create(name="Integration approvers")
    ann = make_user("ann-approver", RELEASE_MANAGERS)
    bea = make_user("bea-approver", RELEASE_MANAGERS)
    # The feature's last commit is by Dev <dev@example.com> (the test helper's author).
    committer = make_user("dev-committer", RELEASE_MANAGERS, email="Dev@Example.com")
    for user in (ann, bea, committer):
        user.groups.add(approvers)
    integration = p["integration"]
    integration.requires_approval = True
    integration.save(update_fields=["requires_approval"])
    policy = ApprovalPolicy.objects.create(instance=integration, required_approvals=2)
    policy.approver_groups.add(approvers)

    feature = start(p, "RM-5", "Discounts", developer)
    commit_to(feature, {"force-app/main/default/classes/Disc.cls": b"public class Disc {}\n"})
    promote([feature], p["alice"], developer)
    promotion = request_promotion(features=[feature], target=integration, user=developer)
    message = promotion.log.last().message
    assert "Waiting for approval from group Integration approvers other than dan-dev" in message
    assert "2 more approvals (of 2) needed" in message

    # A release manager outside the group: refused on the page (message), nothing recorded.
    client_for("release_manager").post(reverse("promotion_approve", args=[promotion.pk]))
    assert not Approval.objects.exists()
    # The last committer, from the command line: refused with the reason.
    with pytest.raises(CommandError, match="made the last commit of RM-5"):
        call_command("approve", str(promotion.pk), "--as", committer.username)
    # The requester may not approve either, whatever their groups.
    developer.groups.add(approvers, Group.objects.get(name=RELEASE_MANAGERS))
    with pytest.raises(PromotionError, match="other than its requester"):
        approve(promotion, type(developer).objects.get(pk=developer.pk))

    call_command("approve", str(promotion.pk), "--as", ann.username)
    promotion.refresh_from_db()
    assert promotion.status == PromotionStatus.AWAITING_APPROVAL
    assert "1 more approval (of 2) needed" in promotion.log.last().message
    with pytest.raises(CommandError, match="already approved exactly this"):
        call_command("approve", str(promotion.pk), "--as", ann.username)
    call_command("approve", str(promotion.pk), "--as", bea.username)
    promotion.refresh_from_db()
    assert promotion.status == PromotionStatus.QUEUED
    assert run(promotion).status == PromotionStatus.SUCCEEDED
    assert set(promotion.approvals.values_list("digest", flat=True)) == {current_digest(promotion)}


def test_an_approval_from_someone_who_lost_the_right_no_longer_counts(
    git_pipeline, developer, release_manager
):
    p = git_pipeline
    integration = p["integration"]
    integration.requires_approval = True
    integration.save(update_fields=["requires_approval"])
    feature = start(p, "RM-6", "Credit", developer)
    commit_to(feature, {"force-app/main/default/classes/Cr.cls": b"public class Cr {}\n"})
    promote([feature], p["alice"], developer)
    promotion = request_promotion(features=[feature], target=integration, user=developer)
    approve(promotion, release_manager)
    assert promotion.status == PromotionStatus.QUEUED
    release_manager.groups.clear()
    done = run(promotion)
    assert done.status == PromotionStatus.FAILED
    assert "requires 1 more approval(s)" in done.failure_reason
