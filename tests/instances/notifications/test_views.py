"""The notification pages: your subscriptions and endpoints, the delivery log."""

from __future__ import annotations

import pytest
from django.urls import reverse

from instances.notifications.models import (
    Channel,
    Delivery,
    Endpoint,
    Event,
    EventKind,
    Scope,
    Subscription,
    WebhookFormat,
)
from tests.instances.promotions.helpers import HOSTILE

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("anonymous", 302),
        ("outsider", 403),
        ("developer", 200),
        ("release_manager", 200),
        ("admin", 200),
    ],
)
@pytest.mark.parametrize("name", ["subscription_list", "endpoint_create", "delivery_list"])
def test_who_may_see_the_pages(client_for, persona, status, name):
    response = client_for(persona).get(reverse(name))
    assert response.status_code == status
    if status == 302:
        assert response["Location"].startswith("/accounts/login/")


def test_it_subscribes_to_one_instance(client_for, developer, pipeline):
    developer.email = "dan@example.com"
    developer.save()
    response = client_for("developer").post(
        reverse("subscription_list"),
        {
            "scope": Scope.INSTANCE,
            "instance": pipeline["qa"].pk,
            "events": [EventKind.PROMOTION_FAILED, EventKind.DEPLOYMENT_FAILED],
            "by_email": "on",
        },
    )
    assert response.status_code == 302
    subscription = Subscription.objects.get(user=developer)
    assert (subscription.scope, subscription.instance, subscription.events) == (
        Scope.INSTANCE,
        pipeline["qa"],
        ["promotion_failed", "deployment_failed"],
    )
    page = client_for("developer").get(reverse("subscription_list")).content.decode()
    assert "Promotion failed, Deployment failed" in page and "QA" in page


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (
            {"scope": Scope.INSTANCE, "events": ["promotion_failed"], "by_email": "on"},
            "Choose the instance to hear about.",
        ),
        (
            {"scope": Scope.EVERYTHING, "events": ["promotion_failed"]},
            "Choose email, a webhook endpoint, or both.",
        ),
        (
            {"scope": Scope.EVERYTHING, "events": ["nonsense"], "by_email": "on"},
            "Select a valid choice.",
        ),
    ],
    ids=["no-instance", "no-channel", "unknown-event"],
)
def test_bad_subscriptions_are_form_errors(client_for, developer, data, error):
    developer.email = "dan@example.com"
    developer.save()
    response = client_for("developer").post(reverse("subscription_list"), data)
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not Subscription.objects.exists()


def test_it_refuses_another_users_endpoint(client_for, developer, release_manager, pipeline):
    theirs = Endpoint.objects.create(
        owner=release_manager, name="rita", url="https://a.example", format=WebhookFormat.SLACK
    )
    response = client_for("developer").post(
        reverse("subscription_list"),
        {"scope": Scope.EVERYTHING, "events": ["promotion_failed"], "endpoint": theirs.pk},
    )
    assert response.status_code == 400
    assert not Subscription.objects.exists()


def test_nobody_removes_someone_elses_subscription_or_endpoint(client_for, release_manager):
    subscription = Subscription.objects.create(user=release_manager, events=["promotion_failed"])
    endpoint = Endpoint.objects.create(
        owner=release_manager, name="x", url="https://a.example", format=WebhookFormat.SLACK
    )
    client = client_for("developer")
    assert client.post(reverse("subscription_delete", args=[subscription.pk])).status_code == 404
    assert client.post(reverse("endpoint_delete", args=[endpoint.pk])).status_code == 404
    assert client.get(reverse("subscription_delete", args=[subscription.pk])).status_code == 405
    owner = client_for("release_manager")
    assert owner.post(reverse("subscription_delete", args=[subscription.pk])).status_code == 302
    assert owner.post(reverse("endpoint_delete", args=[endpoint.pk])).status_code == 302
    assert not Subscription.objects.exists() and not Endpoint.objects.exists()


def test_the_forms_need_the_csrf_token(developer):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(developer)
    response = client.post(
        reverse("subscription_list"), {"scope": "everything", "events": ["promotion_failed"]}
    )
    assert response.status_code == 403


def test_the_signing_secret_is_shown_once_and_stored_encrypted(client_for, developer, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    client = client_for("developer")
    response = client.post(
        reverse("endpoint_create"),
        {"name": "CI", "url": "https://93.184.215.14/hook", "format": WebhookFormat.GENERIC},
    )
    assert response.status_code == 200
    endpoint = Endpoint.objects.get()
    secret = endpoint.secret.reveal()
    assert len(secret) >= 40 and secret in response.content.decode()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM notifications_endpoint")
        (stored,) = cursor.fetchone()
    assert secret not in stored
    assert secret not in client.get(reverse("subscription_list")).content.decode()


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://93.184.215.14/hook", "must use https"),
        ("https://127.0.0.1/hook", "not allowed"),
        ("https://localhost/hook", "not allowed"),
        ("https://10.1.2.3/hook", "not allowed"),
        ("https://169.254.169.254/latest/meta-data", "not allowed"),
        ("https://[::1]/hook", "not allowed"),
        ("https://[::ffff:127.0.0.1]/hook", "not allowed"),
        ("https://user:pw@93.184.215.14/hook", "credentials"),
        ("ftp://93.184.215.14/", "must use https"),
    ],
)
def test_unsafe_webhook_urls_are_refused(client_for, settings, url, error):
    settings.WEBHOOK_ALLOW_HTTP = False
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    response = client_for("developer").post(
        reverse("endpoint_create"), {"name": "x", "url": url, "format": WebhookFormat.SLACK}
    )
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not Endpoint.objects.exists()


def _delivery(user, *, endpoint=None, title="Promotion #1 failed") -> Delivery:
    event = Event.objects.create(
        key=title, kind=EventKind.PROMOTION_FAILED, title=title, path="/promotions/1/"
    )
    if endpoint is not None:
        return Delivery.objects.create(
            event=event,
            channel=Channel.WEBHOOK,
            user=user,
            endpoint=endpoint,
            recipient=endpoint.url,
        )
    return Delivery.objects.create(
        event=event,
        channel=Channel.EMAIL,
        user=user,
        recipient=user.email or f"{user.username}@example.com",
    )


def test_the_log_shows_your_deliveries_and_release_managers_see_all(
    client_for, developer, release_manager
):
    _delivery(developer, title="for the developer")
    _delivery(release_manager, title=HOSTILE)
    slack = Endpoint.objects.create(
        owner=release_manager,
        name="s",
        format=WebhookFormat.SLACK,
        url="https://hooks.slack.com/services/T000/B000/SECRETPART",
    )
    _delivery(release_manager, endpoint=slack, title="to slack")

    mine = client_for("developer").get(reverse("delivery_list")).content.decode()
    assert "for the developer" in mine and "to slack" not in mine and "alert" not in mine
    everything = client_for("release_manager").get(reverse("delivery_list")).content.decode()
    assert "for the developer" in everything and "to slack" in everything
    assert "<script>" not in everything and "&lt;script&gt;" in everything
    assert "https://hooks.slack.com/…" in everything and "SECRETPART" not in everything


def test_without_an_email_address_email_is_refused(client_for, developer):
    response = client_for("developer").post(
        reverse("subscription_list"),
        {"scope": Scope.EVERYTHING, "events": ["promotion_failed"], "by_email": "on"},
    )
    assert response.status_code == 400
    assert "no email address" in response.content.decode()


def test_instances_hidden_by_a_grant_cannot_be_chosen(client_for, developer, pipeline):
    from django.contrib.auth.models import Group

    from instances.models import Capability, InstanceGrant

    InstanceGrant.objects.create(
        instance=pipeline["prod"],
        capability=Capability.VIEW,
        group=Group.objects.get(name="Release managers"),
    )
    developer.email = "dan@example.com"
    developer.save()
    page = client_for("developer").get(reverse("subscription_list")).content.decode()
    assert "Production" not in page and "QA" in page
    response = client_for("developer").post(
        reverse("subscription_list"),
        {
            "scope": Scope.INSTANCE,
            "instance": pipeline["prod"].pk,
            "events": ["promotion_failed"],
            "by_email": "on",
        },
    )
    assert response.status_code == 400 and not Subscription.objects.exists()


def test_the_admin_edits_an_endpoint_with_the_pages_checks_and_adds_none(
    client_for, developer, settings
):
    """An endpoint is added by its owner (who is shown its signing secret once); the admin
    may rename or re-point it, held to the same check of where a webhook may post."""
    endpoint = Endpoint.objects.create(
        owner=developer,
        name="CI",
        url="https://hooks.example.com/ci",
        format=WebhookFormat.GENERIC,
        secret="s3cret",
    )
    settings.WEBHOOK_ALLOW_HTTP = False
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    client = client_for("admin")
    assert client.get(reverse("admin:notifications_endpoint_add")).status_code == 403
    change = reverse("admin:notifications_endpoint_change", args=[endpoint.pk])
    data = {"name": "CI", "url": "http://127.0.0.1:8000/hook", "format": "generic"}
    response = client.post(change, data)
    assert response.status_code == 200
    assert "url" in response.context["adminform"].form.errors
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.com/ci"
    response = client.post(change, {**data, "url": "93.184.215.14/deploys"})
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.owner, endpoint.secret.reveal()) == (
        "https://93.184.215.14/deploys",
        developer,
        "s3cret",
    )
