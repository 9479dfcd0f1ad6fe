"""Conflict resolutions that travel: resolved once in Integration, replayed unprompted into QA
and into a back promotion to a sibling, never for a different conflict, gone once forgotten,
and part of what an approver approves."""

import html

import pytest
from django.urls import reverse

from instances.models import Decision, PromotionStatus, RecordedResolution
from instances.promotions import approvals
from instances.promotions.requests import dry_run
from instances.promotions.routing import route_to
from instances.promotions.rules import approve, request_promotion
from tests.instances.promotions.helpers import (
    INVOICE,
    blob_at,
    commit_to,
    promote,
    run,
    seed_everywhere,
    start,
)

pytestmark = pytest.mark.django_db


def invoice(name: str, first: str = "one") -> bytes:
    return (
        f"public class Invoice {{\n  // {first}\n  // two\n  // three\n{name}"
        "  // four\n  // five\n}\n"
    ).encode()


BASE = invoice("  String name;\n")
OURS = invoice("  Decimal total;\n")  # RM-1, from Dev Alice
THEIRS = invoice("  Integer count;\n")  # RM-3, from Dev Bob
RESOLVED = invoice("  Decimal total;\n  Integer count;\n")


@pytest.fixture
def story(git_pipeline, developer, client_for):
    """RM-1 is in Dev Alice, Integration and QA; RM-3 (from Dev Bob) conflicted with it in
    Integration and was resolved there on the promotion page."""
    p = git_pipeline
    seed_everywhere(p, {INVOICE: BASE})
    rm1 = start(p, "RM-1", "Invoice totals", developer)
    commit_to(rm1, {INVOICE: OURS})
    for target in ("alice", "integration", "qa"):
        promote([rm1], p[target], developer)
    rm3 = start(p, "RM-3", "Invoice count", developer, where="bob")
    commit_to(rm3, {INVOICE: THEIRS})
    promote([rm3], p["bob"], developer)
    first = run(request_promotion(features=[rm3], target=p["integration"], user=developer))
    assert first.status == PromotionStatus.CONFLICTED
    response = client_for("developer").post(
        reverse("promotion_resolve", args=[first.pk]), {"resolution_0": RESOLVED.decode()}
    )
    assert response.status_code == 302
    first = run(first)
    assert first.status == PromotionStatus.SUCCEEDED, first.failure_reason
    return {**p, "rm1": rm1, "rm3": rm3, "first": first}


def _messages(promotion) -> list[str]:
    return list(promotion.log.values_list("message", flat=True))


def test_resolving_records_the_conflict_not_the_promotion(story, developer):
    [recorded] = RecordedResolution.objects.all()
    assert recorded.repository == story["repo"] and recorded.path == INVOICE
    assert recorded.promotion == story["first"] and recorded.made_by == developer
    assert bytes(recorded.postimage) == RESOLVED
    preimage = bytes(recorded.preimage)
    assert b"<<<<<<<\n  Decimal total;\n=======\n  Integer count;\n>>>>>>>\n" in preimage
    assert b"integration" not in preimage and b"feature/" not in preimage  # labels stripped
    assert len(recorded.conflict_id) == 40
    assert any("Recorded the resolution of" in m for m in _messages(story["first"]))


def test_it_is_replayed_unprompted_into_qa(story, developer, client_for):
    # The request's dry run already knows: no conflict to tick through.
    assert dry_run([story["rm3"]], story["qa"], route_to([story["rm3"]], story["qa"])).clean
    into_qa = run(request_promotion(features=[story["rm3"]], target=story["qa"], user=developer))
    assert into_qa.status == PromotionStatus.SUCCEEDED, into_qa.failure_reason
    assert blob_at(story["qa"], INVOICE) == RESOLVED
    first = story["first"].pk
    assert any(
        m.startswith(f"Resolved {INVOICE} with the resolution recorded in promotion #{first}")
        for m in _messages(into_qa)
    )
    assert into_qa.auto_resolutions[INVOICE]["promotion"] == first
    recorded = RecordedResolution.objects.get()
    assert recorded.times_used == 1 and recorded.last_used_at is not None

    page = html.unescape(client_for("developer").get(into_qa.get_absolute_url()).content.decode())
    assert "Resolved with recorded resolutions" in page
    assert f'<a href="/promotions/{first}/">promotion #{first}</a>' in page  # the log links it


def test_it_is_replayed_into_a_back_promotion_to_a_sibling_with_its_own_changes(story, developer):
    """Back into Dev Bob, RM-1 meets RM-3 the other way round (ours and theirs swapped), and
    Dev Bob changed another line of the file meanwhile: the replay keeps that change."""
    p = story
    rm4 = start(p, "RM-4", "Bob's comment", developer, where="bob")
    commit_to(rm4, {INVOICE: invoice("  Integer count;\n", first="one, by Bob")})
    promote([rm4], p["bob"], developer)
    back = run(request_promotion(features=[p["rm1"]], target=p["bob"], user=developer))
    assert back.status == PromotionStatus.SUCCEEDED, back.failure_reason
    assert back.direction == "back"
    assert blob_at(p["bob"], INVOICE) == invoice(
        "  Decimal total;\n  Integer count;\n", first="one, by Bob"
    )
    assert INVOICE in back.auto_resolutions


def test_a_different_conflict_on_the_same_path_is_not_resolved_by_it(story, developer):
    p = story
    rm5 = start(p, "RM-5", "Invoice count, longer", developer, where="scratch")
    commit_to(rm5, {INVOICE: invoice("  Long count;\n")})
    promote([rm5], p["scratch"], developer)
    other = run(request_promotion(features=[rm5], target=p["integration"], user=developer))
    assert other.status == PromotionStatus.CONFLICTED
    assert other.conflicts[0]["path"] == INVOICE and not other.auto_resolutions
    assert not any("resolution recorded" in m for m in _messages(other))
    assert RecordedResolution.objects.get().times_used == 0


def test_forgotten_it_is_not_replayed_and_the_conflict_comes_back(story, developer, client_for):
    recorded = RecordedResolution.objects.get()
    url = reverse("recorded_resolution_forget", args=[story["repo"].pk, recorded.pk])
    response = client_for("release_manager").post(url)
    assert response.status_code == 302
    assert not RecordedResolution.objects.exists()
    dry = dry_run([story["rm3"]], story["qa"], route_to([story["rm3"]], story["qa"]))
    assert dry.conflicts == {"RM-3": [INVOICE]}
    into_qa = run(request_promotion(features=[story["rm3"]], target=story["qa"], user=developer))
    assert into_qa.status == PromotionStatus.CONFLICTED
    assert blob_at(story["qa"], INVOICE) == OURS


def test_on_an_approval_gated_target_the_replay_is_part_of_what_is_approved(
    story, developer, release_manager, client_for
):
    qa = story["qa"]
    qa.requires_approval = True
    qa.save()
    promotion = request_promotion(features=[story["rm3"]], target=qa, user=developer)
    assert promotion.status == PromotionStatus.AWAITING_APPROVAL
    approve(promotion, release_manager, "Looks fine")
    promotion = run(promotion)
    # The approval was given before the recorded resolution was applied: it does not cover it.
    assert promotion.status == PromotionStatus.AWAITING_APPROVAL
    assert blob_at(qa, INVOICE) == OURS
    assert not approvals.valid_approvals(promotion)
    subject = approvals.subject_of(promotion)
    assert list(subject["recorded_resolutions"]) == [INVOICE]
    assert "Recorded resolutions resolved" in _messages(promotion)[-1]
    page = html.unescape(
        client_for("release_manager").get(promotion.get_absolute_url()).content.decode()
    )
    assert "Conflict resolutions to approve" in page
    assert "+  Integer count;" in page  # the replayed resolution against ours

    approve(promotion, release_manager, "The resolution too")
    second = promotion.approvals.filter(decision=Decision.APPROVED).order_by("-id").first()
    assert second.subject["recorded_resolutions"] == subject["recorded_resolutions"]
    promotion = run(promotion)
    assert promotion.status == PromotionStatus.SUCCEEDED, promotion.failure_reason
    assert blob_at(qa, INVOICE) == RESOLVED


def test_a_replay_the_request_foresaw_is_approved_once(
    story, developer, release_manager, client_for
):
    """Requested through the worker, the dry run's replay is on the promotion from the start:
    the approver sees and approves it, and the merge that replays it needs nothing more."""
    from instances.models import Promotion
    from instances.promotions.requests import queue_request
    from releasemgr.models import Job
    from tests.instances.promotions.helpers import run_request_jobs

    qa = story["qa"]
    qa.requires_approval = True
    qa.save()
    job = queue_request(features=[story["rm3"]], target=qa, user=developer)
    run_request_jobs()
    job = Job.objects.get(pk=job.pk)
    assert job.result["replayed"] == [INVOICE]
    promotion = Promotion.objects.get(pk=job.result["promotion"])
    assert promotion.status == PromotionStatus.AWAITING_APPROVAL
    assert promotion.auto_resolutions[INVOICE]["promotion"] == story["first"].pk
    page = html.unescape(
        client_for("release_manager").get(promotion.get_absolute_url()).content.decode()
    )
    assert "Conflict resolutions to approve" in page
    assert "+  Integer count;" in page  # the replay against ours, before anything ran
    assert "will be replayed (the request's dry run replayed it)" in page

    approve(promotion, release_manager, "With the recorded resolution")
    promotion = run(promotion)
    assert promotion.status == PromotionStatus.SUCCEEDED, promotion.failure_reason
    assert blob_at(qa, INVOICE) == RESOLVED
    assert promotion.approvals.filter(decision=Decision.APPROVED).count() == 1
    assert not any("needs approval again" in m for m in _messages(promotion))
