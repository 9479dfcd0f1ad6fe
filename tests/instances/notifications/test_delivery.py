"""Promotions and deployments notify their subscribers: real SMTP and HTTP receivers on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from instances.models import Deployment, DeploymentKind, PromotionStatus, TestLevel
from instances.notifications import tasks
from instances.notifications.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Endpoint,
    Event,
    EventKind,
    Scope,
    Subscription,
    WebhookFormat,
)
from instances.promotions.rules import approve, cancel, request_promotion
from tests.instances.promotions.helpers import INVOICE, commit_to, head, run, start
from tests.receivers import http_receiver, smtp_server

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ALL = [kind.value for kind in EventKind]


def subscribe(
    user, *, scope=Scope.EVERYTHING, instance=None, events=ALL, endpoint=None, by_email=True
) -> Subscription:
    return Subscription.objects.create(
        user=user,
        scope=scope,
        instance=instance,
        events=events,
        endpoint=endpoint,
        by_email=by_email,
    )


@pytest.fixture
def mail(settings):
    with smtp_server() as (mailbox, port):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 5
        yield mailbox


@pytest.fixture
def people(developer, release_manager):
    developer.email = "dan@example.com"
    developer.save()
    release_manager.email = "rita@example.com"
    release_manager.save()
    return developer, release_manager


def test_it_emails_a_succeeded_promotion_with_a_link_to_it(
    git_pipeline, people, mail, inline_tasks, loopback_webhooks
):
    developer, release_manager = people
    subscribe(release_manager, scope=Scope.INSTANCE, instance=git_pipeline["alice"])
    subscribe(developer, scope=Scope.MY_FEATURES, events=[EventKind.PROMOTION_SUCCEEDED])
    feature = start(git_pipeline, "RM-1", "Invoice totals", developer)
    commit_to(feature, {INVOICE: b"public class Invoice { Integer total; }\n"})

    promotion = run(
        request_promotion(features=[feature], target=git_pipeline["alice"], user=developer)
    )

    assert promotion.status == PromotionStatus.SUCCEEDED
    event = Event.objects.get(kind=EventKind.PROMOTION_SUCCEEDED)
    assert event.path == promotion.get_absolute_url()
    assert sorted(to for _, (to,) in mail.envelopes) == ["dan@example.com", "rita@example.com"]
    message = mail.messages[0]
    assert f"Promotion #{promotion.pk} succeeded: RM-1 now in Dev Alice" in message["Subject"]
    body = message.get_payload(decode=True).decode()
    assert f"https://releasemgr.example.com/promotions/{promotion.pk}/" in body
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}


def test_it_posts_slack_teams_and_signed_json(
    git_pipeline, people, inline_tasks, loopback_webhooks
):
    developer, _ = people
    with http_receiver() as receiver:
        endpoints = {
            fmt: Endpoint.objects.create(
                owner=developer,
                name=fmt,
                url=f"{receiver.url}/{fmt}",
                format=fmt,
                secret="s3cret" if fmt == "generic" else "",
            )
            for fmt in WebhookFormat.values
        }
        for endpoint in endpoints.values():
            subscribe(developer, by_email=False, endpoint=endpoint)
        feature = start(git_pipeline, "RM-2", "Totals <b>bold</b> & more", developer)
        promotion = run(
            request_promotion(features=[feature], target=git_pipeline["alice"], user=developer)
        )

    by_path = {r.path.rsplit("/", 1)[-1]: r for r in receiver.requests}
    assert set(by_path) == {"slack", "teams", "generic"}
    url = f"https://releasemgr.example.com/promotions/{promotion.pk}/"
    slack = json.loads(by_path["slack"].body)
    assert slack["text"].startswith(f"<{url}|Promotion #{promotion.pk} succeeded")
    teams = json.loads(by_path["teams"].body)
    card = teams["attachments"][0]["content"]
    assert teams["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["actions"][0]["url"] == url
    generic = by_path["generic"]
    expected = "sha256=" + hmac.new(b"s3cret", generic.body, hashlib.sha256).hexdigest()
    assert generic.headers["X-Releasemgr-Signature-256"] == expected
    payload = json.loads(generic.body)
    assert payload["event"] == "promotion_succeeded" and payload["url"] == url
    assert payload["data"]["features"] == ["RM-2"]
    assert generic.headers["X-Releasemgr-Event"] == "promotion_succeeded"


def test_it_asks_only_those_who_may_approve(
    git_pipeline, people, admin_user, mail, inline_tasks, loopback_webhooks
):
    developer, release_manager = people
    admin_user.email = "alice@example.com"
    admin_user.save()
    for user in (developer, release_manager, admin_user):
        subscribe(user, events=[EventKind.APPROVAL_REQUESTED])
    alice = git_pipeline["alice"]
    alice.requires_approval = True
    alice.save()
    feature = start(git_pipeline, "RM-3", "Needs approval", release_manager)

    promotion = request_promotion(features=[feature], target=alice, user=release_manager)

    assert promotion.status == PromotionStatus.AWAITING_APPROVAL
    # The developer may not approve, the requester may not approve their own: only the admin.
    assert [to for _, (to,) in mail.envelopes] == ["alice@example.com"]
    assert "Approval requested" in mail.messages[0]["Subject"]
    approve(promotion, admin_user)
    assert Event.objects.filter(kind=EventKind.APPROVAL_REQUESTED).count() == 1


def test_it_tells_of_cancelled_promotions_and_back_promotions_now_possible(
    git_pipeline, people, inline_tasks, loopback_webhooks, mail
):
    developer, release_manager = people
    subscribe(release_manager, scope=Scope.INSTANCE, instance=git_pipeline["bob"])
    subscribe(developer, events=[EventKind.PROMOTION_CANCELLED])
    feature = start(git_pipeline, "RM-4", "Goes up", developer)
    run(request_promotion(features=[feature], target=git_pipeline["alice"], user=developer))
    up = run(
        request_promotion(features=[feature], target=git_pipeline["integration"], user=developer)
    )
    assert up.status == PromotionStatus.SUCCEEDED

    back = Event.objects.filter(kind=EventKind.BACK_PROMOTION_POSSIBLE)
    titles = sorted(e.title for e in back)
    assert titles == [
        "RM-4 can be back promoted from Integration into Dev Bob",
        "RM-4 can be back promoted from Integration into Scratch CI",
    ]
    bob = back.get(path=git_pipeline["bob"].get_absolute_url())
    assert list(bob.deliveries.values_list("recipient", flat=True)) == ["rita@example.com"]

    waiting = request_promotion(features=[feature], target=git_pipeline["bob"], user=developer)
    cancel(waiting, developer)
    cancelled = Event.objects.get(kind=EventKind.PROMOTION_CANCELLED)
    # The developer hears of every cancellation, the release manager of those about Dev Bob.
    assert sorted(cancelled.deliveries.values_list("recipient", flat=True)) == [
        "dan@example.com",
        "rita@example.com",
    ]


def test_it_tells_of_a_failed_deployment(
    git_pipeline, people, inline_tasks, loopback_webhooks, mail
):
    from instances.models import AuthMethod, OrgConnection

    developer, release_manager = people
    subscribe(release_manager, events=[EventKind.DEPLOYMENT_FAILED])
    instance = git_pipeline["qa"]
    connection = OrgConnection.objects.create(
        instance=instance,
        auth_method=AuthMethod.ACCESS_TOKEN,
        instance_url="https://acme.my.salesforce.com",
        access_token="x",
    )
    deployment = Deployment.objects.create(
        instance=instance,
        org_connection=connection,
        kind=DeploymentKind.DEPLOY,
        test_level=TestLevel.NO_TEST_RUN,
        to_commit=head(instance),
        requested_by=developer,
    )
    deployment.status = "in_progress"
    deployment.save(update_fields=["status"])
    assert not Event.objects.exists()
    deployment.status = "failed"
    deployment.error_message = "Invoice.cls: unexpected token"
    deployment.save(update_fields=["status", "error_message"])

    event = Event.objects.get(kind=EventKind.DEPLOYMENT_FAILED)
    assert event.path == deployment.get_absolute_url()
    assert "unexpected token" in mail.messages[0].get_payload(decode=True).decode()


def test_a_receiver_that_answers_500_is_retried_with_backoff_and_the_promotion_is_unaffected(
    git_pipeline, people, inline_tasks, loopback_webhooks
):
    developer, _ = people
    with http_receiver(answers=[500, 500, 200]) as receiver:
        endpoint = Endpoint.objects.create(
            owner=developer,
            name="flaky",
            url=receiver.url,
            format=WebhookFormat.GENERIC,
            secret="k",
        )
        subscribe(
            developer, by_email=False, endpoint=endpoint, events=[EventKind.PROMOTION_SUCCEEDED]
        )
        feature = start(git_pipeline, "RM-5", "Flaky receiver", developer)
        promotion = run(
            request_promotion(features=[feature], target=git_pipeline["alice"], user=developer)
        )
        assert promotion.status == PromotionStatus.SUCCEEDED
        assert head(git_pipeline["alice"]) == promotion.target_head_after

        delivery = Delivery.objects.get()
        assert (delivery.status, delivery.attempts, delivery.response_status) == (
            DeliveryStatus.RETRYING,
            1,
            500,
        )
        assert "answered 500: receiver is broken" in delivery.last_error
        first_wait = delivery.next_attempt_at - delivery.created_at
        assert tasks.deliver(delivery.pk) == "not due"  # too early: nothing is sent
        assert len(receiver.requests) == 1

        time.sleep(0.25)
        assert tasks.retry_due() == [delivery.pk]
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.RETRYING, 2)
        assert delivery.next_attempt_at - delivery.created_at > first_wait  # doubled
        time.sleep(0.45)
        tasks.retry_due()
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.response_status) == (
            DeliveryStatus.SENT,
            3,
            200,
        )
        assert len(receiver.requests) == 3
        # Every attempt carried the same delivery id, so the receiver can drop repeats.
        assert {r.headers["X-Releasemgr-Delivery"] for r in receiver.requests} == {str(delivery.pk)}


def test_a_receiver_that_times_out_fails_after_the_last_attempt(
    git_pipeline, people, inline_tasks, loopback_webhooks
):
    developer, _ = people
    loopback_webhooks.WEBHOOK_TIMEOUT_SECONDS = 0.3
    loopback_webhooks.NOTIFY_RETRY_SECONDS = 0.05
    loopback_webhooks.NOTIFY_MAX_ATTEMPTS = 2
    with http_receiver(delay=1.0) as receiver:
        endpoint = Endpoint.objects.create(
            owner=developer, name="slow", url=receiver.url, format=WebhookFormat.SLACK
        )
        subscribe(developer, by_email=False, endpoint=endpoint)
        feature = start(git_pipeline, "RM-6", "Slow receiver", developer)
        started = time.monotonic()
        promotion = run(
            request_promotion(features=[feature], target=git_pipeline["alice"], user=developer)
        )
        assert time.monotonic() - started < 5
        assert promotion.status == PromotionStatus.SUCCEEDED
        delivery = Delivery.objects.get()
        assert delivery.status == DeliveryStatus.RETRYING
        assert "timed out" in delivery.last_error.lower()
        time.sleep(0.1)
        tasks.retry_due()
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 2)
        assert delivery.next_attempt_at is None
        assert tasks.retry_due() == []


def test_an_unsafe_endpoint_fails_at_once_without_a_request(
    git_pipeline, people, inline_tasks, settings
):
    developer, _ = people
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    with http_receiver() as receiver:
        # Saved before the rules changed, or by an admin: sending checks again.
        endpoint = Endpoint.objects.create(
            owner=developer, name="inside", url=receiver.url, format=WebhookFormat.GENERIC
        )
        subscribe(developer, by_email=False, endpoint=endpoint)
        feature = start(git_pipeline, "RM-7", "Inside", developer)
        run(request_promotion(features=[feature], target=git_pipeline["alice"], user=developer))
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 1
    assert "127.0.0.1" in delivery.last_error and "not allowed" in delivery.last_error
    assert receiver.requests == []


def test_an_unreachable_mail_server_is_retried(
    git_pipeline, people, inline_tasks, loopback_webhooks, settings
):
    from tests.gitservers import free_port

    developer, _ = people
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    subscribe(developer)
    feature = start(git_pipeline, "RM-8", "No mail server", developer)
    promotion = run(
        request_promotion(features=[feature], target=git_pipeline["alice"], user=developer)
    )
    assert promotion.status == PromotionStatus.SUCCEEDED
    delivery = Delivery.objects.get(channel=Channel.EMAIL)
    assert delivery.status == DeliveryStatus.RETRYING
    assert "ConnectionRefused" in delivery.last_error


def test_one_change_is_one_event_however_often_it_is_seen(
    git_pipeline, people, inline_tasks, loopback_webhooks, mail
):
    developer, _ = people
    subscribe(developer)
    feature = start(git_pipeline, "RM-9", "Once", developer)
    promotion = run(
        request_promotion(features=[feature], target=git_pipeline["alice"], user=developer)
    )
    assert tasks.promotion_changed(promotion.pk) == 0
    assert Event.objects.filter(kind=EventKind.PROMOTION_SUCCEEDED).count() == 1
    assert len(mail.messages) == 1


def test_grants_decide_who_hears(
    git_pipeline, people, admin_user, mail, inline_tasks, loopback_webhooks
):
    """Nobody hears of an instance hidden from them; approval requests follow approve grants."""
    from django.contrib.auth.models import Group

    from instances.models import Capability, InstanceGrant
    from tests.conftest import make_user

    developer, release_manager = people
    approver = make_user("ann-rm", "Release managers", email="ann@example.com")
    alice = git_pipeline["alice"]
    alice.requires_approval = True
    alice.save()
    # Dev Alice is seen by release managers only, and only Ann approves there.
    InstanceGrant.objects.create(
        instance=alice,
        capability=Capability.VIEW,
        group=Group.objects.get(name="Release managers"),
    )
    InstanceGrant.objects.create(instance=alice, capability=Capability.APPROVE, user=approver)
    for user in (developer, release_manager, approver):
        subscribe(user, events=[EventKind.APPROVAL_REQUESTED, EventKind.PROMOTION_CANCELLED])
    feature = start(git_pipeline, "RM-10", "Behind a grant", release_manager)

    promotion = request_promotion(features=[feature], target=alice, user=release_manager)
    assert [to for _, (to,) in mail.envelopes] == ["ann@example.com"]

    cancel(promotion, release_manager)
    recipients = sorted(to for _, (to,) in mail.envelopes[1:])
    assert recipients == ["ann@example.com", "rita@example.com"]  # never the developer
