"""Deployment windows and freezes: promotions into a closed instance queue and say why; an
emergency override lets one through, recorded; a window opening at 18:00 Europe/Paris releases
the queue then. Time is simulated with time-machine; git and the engine are real."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from instances.environments import windows
from instances.environments.windows import closure_of
from instances.models import DeploymentWindow, Freeze, PromotionStatus, WindowKind, WindowOverride
from instances.models.recurrence import WindowRuleError, parse_rule
from instances.promotions import engine, overrides, tasks
from instances.promotions.queue import waiting_reason
from instances.promotions.rules import request_promotion
from releasemgr.models import AuditEvent
from tests.instances.promotions.helpers import commit_to, start

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")


def queue_five(pipeline, developer):
    """Five features started from Dev Alice, each with a commit, each requested into it."""
    promotions = []
    for n in range(1, 6):
        feature = start(pipeline, f"RM-{n}", f"Change {n}", developer)
        commit_to(feature, {f"force-app/main/default/classes/C{n}.cls": b"public class C {}\n"})
        promotions.append(
            request_promotion(features=[feature], target=pipeline["alice"], user=developer)
        )
    return promotions


def run(promotion):
    result = engine.run_promotion(promotion.pk, "test-worker")
    promotion.refresh_from_db()
    return result


def test_it_parses_rfc_5545_rules_and_refuses_what_it_cannot_evaluate():
    start_at = datetime(2026, 12, 1, 18, 0, tzinfo=PARIS)
    rule = parse_rule("RRULE:FREQ=WEEKLY;BYDAY=MO,TU", start_at)
    assert rule.after(start_at).weekday() == 0  # the next Monday
    for bad, says in [
        ("", "Write a recurrence rule"),
        ("FREQ=SECONDLY", "FREQ must be one of"),
        ("FREQ=DAILY\nEXDATE:20261224T180000", "One RRULE only"),
        ("DTSTART:20260101T000000\nRRULE:FREQ=DAILY", "One RRULE only"),
        ("FREQ=WEEKLY;BYDAY=XX", "Not a valid RFC 5545"),
    ]:
        with pytest.raises(WindowRuleError, match=says):
            parse_rule(bad, start_at)


def test_a_window_keeps_its_wall_clock_time_across_daylight_saving(pipeline):
    window = DeploymentWindow.objects.create(
        instance=pipeline["uat"],
        kind=WindowKind.ALLOW,
        rule="FREQ=DAILY",
        starts=datetime(2026, 3, 20, 18, 0, tzinfo=PARIS),
        time_zone="Europe/Paris",
        duration=timedelta(hours=1),
    )
    assert window.local_start().hour == 18
    # Before and after the change of 29 March 2026, 18:30 in Paris is inside, 19:30 is not.
    for day in (27, 30):
        assert closure_of(pipeline["uat"], datetime(2026, 3, day, 18, 30, tzinfo=PARIS)) is None
        closed = closure_of(pipeline["uat"], datetime(2026, 3, day, 19, 30, tzinfo=PARIS))
        assert closed is not None
        assert closed.opens_at == datetime(2026, 3, day + 1, 18, 0, tzinfo=PARIS)


def test_a_denied_window_wins_over_an_allowed_one_and_repository_rules_apply(pipeline, developer):
    uat = pipeline["uat"]
    at = datetime(2026, 12, 4, 12, 0, tzinfo=PARIS)  # a Friday
    DeploymentWindow.objects.create(
        instance=uat,
        rule="FREQ=DAILY",
        starts=datetime(2026, 12, 1, 8, 0, tzinfo=PARIS),
        time_zone="Europe/Paris",
        duration=timedelta(hours=10),
    )
    assert closure_of(uat, at) is None
    DeploymentWindow.objects.create(
        repository=pipeline["repo"],
        kind=WindowKind.DENY,
        label="No Friday deploys",
        rule="FREQ=WEEKLY;BYDAY=FR",
        starts=datetime(2026, 12, 4, 0, 0, tzinfo=PARIS),
        time_zone="Europe/Paris",
        duration=timedelta(days=1),
    )
    closed = closure_of(uat, at)
    assert closed is not None
    assert "No Friday deploys" in closed.text
    # Saturday 00:00 ends the denial, but the allowed window opens only at 08:00.
    assert closed.opens_at == datetime(2026, 12, 5, 8, 0, tzinfo=PARIS)
    assert "Next opening: 2026-12-05 08:00 Europe/Paris" in closed.text
    # Other instances of the repository are closed on Fridays too (no allowed window there).
    assert closure_of(pipeline["qa"], at) is not None


def test_a_freeze_holds_five_queued_promotions_and_an_override_lets_one_through(
    client_for, git_pipeline, developer, release_manager
):
    alice = git_pipeline["alice"]
    promotions = queue_five(git_pipeline, developer)
    response = client_for("release_manager").post(
        reverse("instance_freeze", args=[alice.pk]),
        {"reason": "Quarter-end close", "ends_at": ""},
    )
    assert response.status_code == 302
    freeze = Freeze.objects.get(instance=alice)
    assert freeze.created_by == release_manager
    for promotion in promotions:
        assert run(promotion) == "not runnable now"
        assert promotion.status == PromotionStatus.QUEUED
        reason = waiting_reason(promotion)
        assert "Frozen until it is lifted, by rita-rm, because Quarter-end close." in reason
    page = client_for("developer").get(reverse("promotion_detail", args=[promotions[0].pk]))
    assert (
        "Frozen until it is lifted, by rita-rm, because Quarter-end close." in page.content.decode()
    )
    assert tasks.dispatch_target(alice.pk) is None  # the dispatcher starts nothing

    third = promotions[2]
    url = reverse("promotion_override", args=[third.pk])
    # A developer may not override; a release manager must say why.
    assert client_for("developer").post(url, {"justification": "x" * 20}).status_code == 403
    client_for("release_manager").post(url, {"justification": "short"})
    assert not WindowOverride.objects.exists()
    before = timezone.now()
    response = client_for("release_manager").post(
        url, {"justification": "Payment outage: hotfix cannot wait for the close"}
    )
    assert response.status_code == 302
    override = WindowOverride.objects.get(promotion=third)
    assert override.user == release_manager and override.at >= before
    assert override.justification == "Payment outage: hotfix cannot wait for the close"
    assert "Quarter-end close" in override.closed_because
    assert third.log.filter(message__contains="Emergency override by rita-rm: Payment").exists()
    event = AuditEvent.for_object(alice).get(action="emergency override")
    assert event.actor == release_manager
    assert event.changes["justification"].startswith("Payment outage")

    assert tasks.dispatch_target(alice.pk) == third.pk  # it jumps the frozen queue
    assert run(promotions[0]) == "not runnable now"
    assert run(third) == PromotionStatus.SUCCEEDED
    for other in promotions[:2] + promotions[3:]:
        assert run(other) == "not runnable now"
        assert other.status == PromotionStatus.QUEUED

    # Lifting the freeze releases the rest, in order.
    client_for("release_manager").post(reverse("instance_freeze_lift", args=[alice.pk, freeze.pk]))
    assert closure_of(alice) is None
    for other in promotions[:2] + promotions[3:]:
        assert run(other) == PromotionStatus.SUCCEEDED


def test_an_override_needs_a_closed_instance_and_a_queued_promotion(
    git_pipeline, developer, release_manager
):
    [promotion, *_] = queue_five(git_pipeline, developer)
    with pytest.raises(overrides.OverrideError, match="is open"):
        overrides.override(promotion, release_manager, "Because it is urgent today")
    windows.freeze(git_pipeline["alice"], release_manager, "Release", None)
    with pytest.raises(overrides.OverrideError, match="Only a release manager"):
        overrides.override(promotion, developer, "Because it is urgent today")


def test_a_window_opening_at_18_paris_releases_the_queue_then(
    git_pipeline, developer, release_manager
):
    alice = git_pipeline["alice"]
    DeploymentWindow.objects.create(
        instance=alice,
        label="Evenings",
        rule="FREQ=DAILY",
        starts=datetime(2026, 12, 1, 18, 0, tzinfo=PARIS),
        time_zone="Europe/Paris",
        duration=timedelta(hours=2),
    )
    with time_machine.travel(datetime(2026, 12, 2, 17, 58, tzinfo=PARIS), tick=False):
        promotions = queue_five(git_pipeline, developer)
        assert tasks.dispatch() == []
        for promotion in promotions:
            assert run(promotion) == "not runnable now"
        assert "Next opening: 2026-12-02 18:00 Europe/Paris" in waiting_reason(promotions[0])
    with time_machine.travel(datetime(2026, 12, 2, 18, 0, 5, tzinfo=PARIS), tick=False):
        for promotion in promotions:
            assert tasks.dispatch_target(alice.pk) == promotion.pk
            assert run(promotion) == PromotionStatus.SUCCEEDED
    with time_machine.travel(datetime(2026, 12, 2, 20, 0, 0, tzinfo=PARIS), tick=False):
        later = queue_five_more(git_pipeline, developer)
        assert run(later) == "not runnable now"


def queue_five_more(pipeline, developer):
    feature = start(pipeline, "RM-99", "Late", developer)
    commit_to(feature, {"force-app/main/default/classes/Late.cls": b"public class Late {}\n"})
    return request_promotion(features=[feature], target=pipeline["alice"], user=developer)


def test_the_dashboard_shows_frozen_instances_and_the_next_opening(
    client_for, pipeline, release_manager
):
    windows.freeze(
        pipeline["uat"], release_manager, "UAT <b>sign-off</b>", timezone.now() + timedelta(days=2)
    )
    body = client_for("developer").get(reverse("dashboard")).content.decode()
    assert "UAT &lt;b&gt;sign-off&lt;/b&gt;" in body
    assert "Next opening" in body


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("anonymous", 302),
        ("outsider", 403),
        ("developer", 403),
        ("release_manager", 302),
        ("admin", 302),
    ],
)
def test_only_managers_freeze_and_add_windows(client_for, pipeline, persona, expected):
    uat = pipeline["uat"]
    client = client_for(persona)
    assert client.post(reverse("instance_freeze", args=[uat.pk]), {"reason": "x"}).status_code == (
        expected
    )
    response = client.post(
        reverse("instance_window_add", args=[uat.pk]),
        {
            "kind": "allow",
            "rule": "FREQ=DAILY",
            "starts": "2026-12-01 18:00",
            "time_zone": "Europe/Paris",
            "duration": "02:00:00",
        },
    )
    assert response.status_code == expected
    made = persona in ("release_manager", "admin")
    assert Freeze.objects.filter(instance=uat).exists() == made
    assert DeploymentWindow.objects.filter(instance=uat).exists() == made
    if made:
        window = DeploymentWindow.objects.get(instance=uat)
        assert window.local_start() == datetime(2026, 12, 1, 18, 0, tzinfo=PARIS)


@pytest.mark.parametrize(
    "persona", ["anonymous", "outsider", "developer", "release_manager", "admin"]
)
def test_the_windows_pages_follow_the_matrix(client_for, pipeline, persona):
    read = {
        "anonymous": 302,
        "outsider": 403,
        "developer": 200,
        "release_manager": 200,
        "admin": 200,
    }
    assert (
        client_for(persona).get(reverse("instance_windows", args=[pipeline["uat"].pk])).status_code
        == read[persona]
    )
    assert (
        client_for(persona)
        .get(reverse("repository_windows", args=[pipeline["repo"].pk]))
        .status_code
        == read[persona]
    )


def test_a_bad_window_is_a_form_error(client_for, pipeline):
    response = client_for("release_manager").post(
        reverse("instance_window_add", args=[pipeline["uat"].pk]),
        {
            "kind": "allow",
            "rule": "FREQ=SECONDLY",
            "starts": "2026-12-01 18:00",
            "time_zone": "Mars/Olympus",
            "duration": "02:00:00",
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "is not an IANA time zone" in body
    assert not DeploymentWindow.objects.exists()
    response = client_for("release_manager").post(
        reverse("instance_window_add", args=[pipeline["uat"].pk]),
        {
            "kind": "allow",
            "rule": "FREQ=SECONDLY",
            "starts": "2026-12-01 18:00",
            "time_zone": "Europe/Paris",
            "duration": "02:00:00",
        },
    )
    assert response.status_code == 400
    assert "FREQ must be one of" in response.content.decode()


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        # Days the calendar does not have: dateutil would search day by day up to 9999.
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "It never occurs"),
        ("FREQ=HOURLY;BYMONTH=4;BYMONTHDAY=31", "It never occurs"),
        ("FREQ=HOURLY;BYWEEKNO=53;BYMONTH=6", "It never occurs"),
        ("FREQ=WEEKLY;BYYEARDAY=366;BYMONTH=1", "It never occurs"),
        # Days that exist, never landed on: every 7 days from a Tuesday is never a Thursday.
        ("FREQ=DAILY;INTERVAL=7;BYDAY=TH", "It never occurs"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO", "more than 400 days after its start"),
    ],
)
def test_a_window_that_never_opens_is_a_form_error(client_for, pipeline, rule, says):
    response = client_for("release_manager").post(
        reverse("instance_window_add", args=[pipeline["uat"].pk]),
        {
            "kind": "allow",
            "rule": rule,
            "starts": "2026-12-01 18:00",  # a Tuesday
            "time_zone": "Europe/Paris",
            "duration": "02:00:00",
        },
    )
    assert response.status_code == 400
    assert says in response.content.decode()
    assert not DeploymentWindow.objects.exists()


def test_a_saved_window_of_days_the_calendar_lacks_closes_without_a_search(pipeline):
    """One saved before saves refused it: the instance is outside its windows, with no
    opening in sight, answered without dateutil's day-by-day search to the year 9999."""
    DeploymentWindow.objects.bulk_create(  # as an old save did: no validation
        [
            DeploymentWindow(
                instance=pipeline["uat"],
                kind=WindowKind.ALLOW,
                rule="FREQ=HOURLY;BYMONTH=4;BYMONTHDAY=31",
                starts=datetime(2026, 1, 1, 18, 0, tzinfo=PARIS),
                time_zone="Europe/Paris",
            )
        ]
    )
    windows._rule.cache_clear()
    closed = closure_of(pipeline["uat"], datetime(2026, 6, 1, 12, 0, tzinfo=PARIS))
    assert closed is not None
    assert closed.text == "Outside its deployment windows. No opening within a year."
    assert closed.opens_at is None
    # The rule is never asked (its `after` would search to 9999): the window has none.
    window = DeploymentWindow.objects.get()
    assert windows._rule(window.rule, window.starts, window.time_zone) is None


def test_a_repository_window_is_evaluated_once_for_all_its_instances(pipeline, monkeypatch):
    """dateutil walks a rule from its start for each question (a weekday window three years
    old: 5 ms each); the seven instances of the pipeline ask it one question each, answered
    once."""
    DeploymentWindow.objects.create(
        repository=pipeline["repo"],
        kind=WindowKind.ALLOW,
        rule="FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=18",
        starts=datetime(2023, 12, 1, 18, 0, tzinfo=PARIS),
        time_zone="Europe/Paris",
        duration=timedelta(hours=2),
    )
    for cached in (windows._rule, windows._start_before, windows._start_after):
        cached.cache_clear()
    asked = []
    before, after = windows.rrule.before, windows.rrule.after
    monkeypatch.setattr(
        windows.rrule, "before", lambda r, *a, **k: asked.append(1) or before(r, *a, **k)
    )
    monkeypatch.setattr(
        windows.rrule, "after", lambda r, *a, **k: asked.append(2) or after(r, *a, **k)
    )
    at = datetime(2026, 12, 2, 12, 0, tzinfo=PARIS)  # a Wednesday noon: outside, opens at 18:00
    instances = [i for k, i in pipeline.items() if k != "repo"]
    closures = windows.closures_of(instances, at)
    assert len(closures) == 7
    assert {c.opens_at for c in closures.values()} == {datetime(2026, 12, 2, 18, 0, tzinfo=PARIS)}
    assert sorted(asked) == [1, 1, 2]  # covering now; the next start; covering it (open)
    windows.closures_of(instances, at)
    assert sorted(asked) == [1, 1, 2]  # the same questions again: nothing walked


def test_an_override_notifies_the_instances_subscribers_who_may_see_it(
    git_pipeline, developer, release_manager
):
    from django.contrib.auth.models import Group

    from instances.models import Capability, InstanceGrant
    from instances.notifications.models import Delivery, Scope, Subscription
    from releasemgr.roles import RELEASE_MANAGERS
    from tests.conftest import make_user

    alice = git_pipeline["alice"]
    watcher = make_user("wendy-rm", RELEASE_MANAGERS, email="wendy@example.com")
    outsider_dev = make_user("kept-out", "Developers", email="kept@example.com")
    for user in (watcher, outsider_dev):
        Subscription.objects.create(
            user=user, scope=Scope.EVERYTHING, events=["emergency_override"], by_email=True
        )
    # Dev Alice seen only by release managers and by the requesting developer.
    InstanceGrant.objects.create(
        instance=alice, capability=Capability.VIEW, group=Group.objects.get(name=RELEASE_MANAGERS)
    )
    InstanceGrant.objects.create(instance=alice, capability=Capability.VIEW, user=developer)
    [promotion, *_] = queue_five(git_pipeline, developer)
    windows.freeze(alice, release_manager, "Audit", None)
    overrides.override(promotion, release_manager, "Security fix, signed off by the CISO")
    recipients = set(Delivery.objects.values_list("recipient", flat=True))
    assert recipients == {"wendy@example.com"}
    delivery = Delivery.objects.get()
    assert "Emergency override" in delivery.event.title
    assert delivery.event.text == "Security fix, signed off by the CISO"
