"""Standalone deployments and deployment windows: a closed instance refuses a deployment with
the reason its promotions wait with, a validation goes through, and a release manager who
manages the instance can push one through with an emergency override (recorded, notified)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from instances.deployments import tasks
from instances.environments import windows
from instances.models import (
    Capability,
    Deployment,
    DeploymentKind,
    DeploymentStatus,
    DeploymentWindow,
    InstanceGrant,
    WindowKind,
)
from instances.notifications import signals as notification_signals
from instances.notifications.models import Event, EventKind
from instances.promotions.queue import waiting_reason
from releasemgr.models import AuditEvent
from tests.instances.promotions.helpers import make_feature, make_promotion

pytest_plugins = ["tests.salesforce_standin.plugin"]
pytestmark = pytest.mark.django_db

JUSTIFICATION = "Payment outage: the fix cannot wait for the close"


@pytest.fixture
def qa(qa_org):
    return qa_org.instance


@pytest.fixture
def frozen(qa, release_manager):
    windows.freeze(qa, release_manager, "Quarter-end close")
    return qa


def deploy(client, instance, **fields):
    data = {"revision": "qa", "kind": "deploy", "test_level": "NoTestRun", **fields}
    return client.post(reverse("deployment_create", args=[instance.pk]), data)


def test_a_frozen_instance_refuses_a_deployment_as_its_promotions_wait(
    client_for, frozen, git_pipeline, developer, release_manager
):
    feature = make_feature(git_pipeline["repo"], "RM-1", developer)
    promotion = make_promotion(frozen, [feature], developer, source=git_pipeline["integration"])

    page = client_for("release_manager").get(reverse("deployment_create", args=[frozen.pk]))
    assert "Emergency override" in page.content.decode()  # the form offers it while closed
    response = deploy(client_for("release_manager"), frozen)

    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert waiting_reason(promotion) in errors[0]  # the promotion's own words
    assert "Frozen until it is lifted, by rita-rm, because Quarter-end close." in errors[0]
    assert "emergency override" in errors[0]
    assert not Deployment.objects.exists()


def test_a_denied_window_refuses_it_too(client_for, qa, release_manager):
    DeploymentWindow.objects.create(
        instance=qa,
        label="Business hours",
        kind=WindowKind.DENY,
        rule="FREQ=DAILY",
        starts=timezone.now() - timedelta(hours=1),
        duration=timedelta(hours=4),
        time_zone="UTC",
    )
    response = deploy(client_for("release_manager"), qa)
    assert "In the denied window “Business hours”" in response.context["form"].non_field_errors()[0]
    assert not Deployment.objects.exists()


def test_a_validation_changes_nothing_and_goes_through(client_for, frozen):
    response = deploy(client_for("release_manager"), frozen, kind="validate")
    assert response.status_code == 302
    deployment = Deployment.objects.get()
    assert deployment.kind == DeploymentKind.VALIDATE
    assert not AuditEvent.objects.filter(action="emergency override").exists()


def test_an_emergency_override_is_recorded_logged_and_notified(
    client_for, frozen, release_manager, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(notification_signals, "async_task", lambda func, *args, **kw: func(*args))

    short = deploy(client_for("release_manager"), frozen, override_justification="now")
    assert "needs a written justification" in short.context["form"].non_field_errors()[0]
    with django_capture_on_commit_callbacks(execute=True):
        response = deploy(
            client_for("release_manager"), frozen, override_justification=f"  {JUSTIFICATION} "
        )

    deployment = Deployment.objects.get()
    assert response.status_code == 302 and response["Location"] == deployment.get_absolute_url()
    event = AuditEvent.for_object(frozen).get(action="emergency override")
    assert event.actor == release_manager
    assert event.changes["deployment"] == deployment.pk
    assert event.changes["justification"] == JUSTIFICATION
    assert "Quarter-end close" in event.changes["closed"]
    notified = Event.objects.get(kind=EventKind.EMERGENCY_OVERRIDE)
    assert notified.title == f"Emergency override: deployment #{deployment.pk} to QA by rita-rm"
    assert notified.text == JUSTIFICATION and notified.instance_ids == [frozen.pk]
    assert tasks.run_deployment(deployment.pk) == DeploymentStatus.SUCCEEDED
    log = client_for("release_manager").get(reverse("deployment_log", args=[deployment.pk]))
    text = b"".join(log.streaming_content).decode()
    assert (
        f"Emergency override by rita-rm: {JUSTIFICATION} (the instance was closed: Frozen" in text
    )


def test_only_a_release_manager_who_manages_the_instance_may_override(
    client_for, frozen, admin_user
):
    # Managing QA is the admins' alone; release managers still deploy to it when it is open.
    InstanceGrant.objects.create(instance=frozen, capability=Capability.MANAGE, user=admin_user)
    response = deploy(client_for("release_manager"), frozen, override_justification=JUSTIFICATION)
    assert (
        "Only a release manager who manages QA can override."
        in (response.context["form"].non_field_errors()[0])
    )
    assert not Deployment.objects.exists()
    assert (
        deploy(client_for("admin"), frozen, override_justification=JUSTIFICATION).status_code == 302
    )


def test_the_api_refuses_and_overrides_alike(client_for, frozen):
    client = client_for("release_manager")
    url = f"/api/v1/instances/{frozen.pk}/deployments"
    body = {"revision": "qa", "test_level": "NoTestRun"}

    refused = client.post(url, body, content_type="application/json")
    assert refused.status_code == 409 and refused["Content-Type"] == "application/problem+json"
    assert "QA is closed. Frozen until it is lifted" in refused.json()["detail"]
    assert not Deployment.objects.exists()

    done = client.post(
        url, {**body, "override_justification": JUSTIFICATION}, content_type="application/json"
    )
    assert done.status_code == 201, done.content
    assert (
        AuditEvent.objects.get(action="emergency override").changes["deployment"]
        == (done.json()["id"])
    )


def test_lifting_the_freeze_opens_the_instance_again(client_for, frozen, release_manager):
    windows.lift(frozen.freezes.get(), release_manager)
    assert deploy(client_for("release_manager"), frozen).status_code == 302
    assert Deployment.objects.get().kind == DeploymentKind.DEPLOY
