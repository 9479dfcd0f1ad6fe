"""End to end with a real `manage.py qcluster`: a promotion runs in the cluster, its email
reaches a real SMTP server, and a webhook receiver that answers 500 does not hold it up."""

from __future__ import annotations

import pytest

from instances.models import PromotionStatus
from instances.notifications.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Endpoint,
    Scope,
    Subscription,
    WebhookFormat,
)
from instances.promotions.rules import request_promotion
from tests.instances.promotions.helpers import head, start
from tests.receivers import http_receiver, smtp_server
from tests.workers import task_cluster, wait_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_the_cluster_delivers_and_a_broken_receiver_changes_nothing(
    git_pipeline, developer, tmp_path
):
    developer.email = "dan@example.com"
    developer.save()
    log = tmp_path / "qcluster.log"
    with smtp_server() as (mailbox, port), http_receiver(answers=[500]) as receiver:
        endpoint = Endpoint.objects.create(
            owner=developer, name="broken", url=receiver.url, format=WebhookFormat.GENERIC
        )
        Subscription.objects.create(
            user=developer,
            scope=Scope.MY_FEATURES,
            events=["promotion_succeeded"],
            endpoint=endpoint,
        )
        feature = start(git_pipeline, "RM-20", "Through the cluster", developer)
        with task_cluster(
            log,
            Q_WORKERS="2",
            EMAIL_URL=f"smtp://127.0.0.1:{port}",
            WEBHOOK_ALLOW_HTTP="1",
            WEBHOOK_ALLOW_PRIVATE_ADDRESSES="1",
            WEBHOOK_TIMEOUT_SECONDS="2",
            SITE_URL="https://rm.example.com",
        ):
            promotion = request_promotion(
                features=[feature], target=git_pipeline["alice"], user=developer
            )
            wait_for(lambda: mailbox.messages, timeout=60, what="the email", log=log)
            wait_for(
                lambda: Delivery.objects.filter(
                    channel=Channel.WEBHOOK, status=DeliveryStatus.RETRYING
                ).exists(),
                timeout=30,
                what="the failed webhook attempt",
                log=log,
            )
    promotion.refresh_from_db()
    assert promotion.status == PromotionStatus.SUCCEEDED
    assert head(git_pipeline["alice"]) == promotion.target_head_after
    assert (
        f"https://rm.example.com/promotions/{promotion.pk}/"
        in mailbox.messages[0].get_payload(decode=True).decode()
    )
    webhook = Delivery.objects.get(channel=Channel.WEBHOOK)
    assert (webhook.attempts, webhook.response_status) == (1, 500)
    assert len(receiver.requests) == 1
