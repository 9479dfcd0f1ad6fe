"""Deployment pages, standalone redeploys and Test connection, against the Salesforce stand-in."""

import io
import zipfile

import pytest
from django.urls import reverse

from instances.deployments import tasks
from instances.environments import tasks as environment_tasks
from instances.models import Deployment, DeploymentStatus
from releasemgr.models import Job
from tests.personas import MANAGE, PERSONAS, READ

pytest_plugins = ["tests.salesforce_standin.plugin"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def org(qa_org):
    return qa_org


@pytest.fixture
def deployment(client_for, org, git_pipeline):
    client_for("release_manager").post(
        reverse("deployment_create", args=[git_pipeline["qa"].pk]),
        {"revision": "qa", "kind": "deploy", "test_level": "NoTestRun"},
    )
    deployment = Deployment.objects.get()
    assert tasks.run_deployment(deployment.pk) == DeploymentStatus.SUCCEEDED
    deployment.refresh_from_db()
    return deployment


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_enforces_the_permission_matrix(client_for, deployment, org, git_pipeline, persona):
    client = client_for(persona)
    assert client.get(deployment.get_absolute_url()).status_code == READ[persona]
    artifact = client.get(reverse("deployment_artifact", args=[deployment.pk]))
    assert artifact.status_code == READ[persona]
    create = client.get(reverse("deployment_create", args=[git_pipeline["qa"].pk]))
    assert create.status_code == MANAGE[persona]
    status = client.get(reverse("org_connection_status", args=[org.pk]))
    assert status.status_code == {200: 286}.get(READ[persona], READ[persona])
    test = client.post(reverse("org_connection_test", args=[org.pk]))
    assert test.status_code == {200: 302}.get(MANAGE[persona], MANAGE[persona])


def test_it_redeploys_a_whole_commit(client_for, deployment, org, salesforce):
    [sent] = salesforce.deployments.values()
    with zipfile.ZipFile(io.BytesIO(sent.zip_bytes)) as archive:
        assert "classes/Invoice.cls" in archive.namelist()
    assert deployment.from_commit == "" and deployment.status == DeploymentStatus.SUCCEEDED
    body = client_for("developer").get(deployment.get_absolute_url()).content.decode()
    assert "Succeeded" in body and sent.id in body
    download = client_for("developer").get(reverse("deployment_artifact", args=[deployment.pk]))
    assert b"".join(download.streaming_content) == sent.zip_bytes
    log = client_for("developer").get(reverse("deployment_log", args=[deployment.pk]))
    text = b"".join(log.streaming_content).decode()
    assert f"Deployment {sent.id} started" in text and "succeeded" in text
    assert "InProgress" in text  # the progress seen while it ran


def test_it_stops_polling_once_the_deployment_ends(client_for, deployment):
    response = client_for("developer").get(
        deployment.get_absolute_url(),
        headers={"HX-Request": "true", "HX-Target": "deployment-status"},
    )
    assert response.status_code == 286
    assert "<html" not in response.content.decode()


def test_it_explains_a_bad_revision(client_for, org, git_pipeline):
    response = client_for("release_manager").post(
        reverse("deployment_create", args=[git_pipeline["qa"].pk]),
        {"revision": "no-such-branch", "kind": "deploy", "test_level": "NoTestRun"},
    )
    assert response.status_code == 200
    assert "no-such-branch" in response.content.decode()
    assert not Deployment.objects.exists()


def test_it_refuses_test_classes_without_specified_tests(client_for, org, git_pipeline):
    response = client_for("release_manager").post(
        reverse("deployment_create", args=[git_pipeline["qa"].pk]),
        {"revision": "qa", "kind": "deploy", "test_level": "NoTestRun", "run_tests": "FooTest"},
    )
    assert "only run with “Specified tests”" in response.content.decode()


def test_it_needs_an_org_to_deploy_to(client_for, git_pipeline):
    response = client_for("release_manager").post(
        reverse("deployment_create", args=[git_pipeline["uat"].pk]),
        {"revision": "uat", "kind": "deploy", "test_level": "NoTestRun"},
    )
    assert response.status_code == 409
    assert "UAT has no org connection" in response.content.decode()
    assert not Deployment.objects.exists()


def test_it_says_there_is_no_org_before_anything_is_posted(client_for, git_pipeline):
    response = client_for("release_manager").get(
        reverse("deployment_create", args=[git_pipeline["uat"].pk])
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "UAT has no org connection" in body and "Connect an org" in body
    assert '<form method="post">' not in body


def test_it_tests_a_connection_in_a_worker(client_for, org):
    client = client_for("release_manager")
    client.post(reverse("org_connection_test", args=[org.pk]))
    org.refresh_from_db()
    assert org.check_pending
    pending = client.get(reverse("org_connection_status", args=[org.pk]))
    assert pending.status_code == 200 and "Testing the connection" in pending.content.decode()
    assert environment_tasks.test_org_connection(org.pk) == "ok"
    org.refresh_from_db()
    assert org.org_id.startswith("00D") and org.detected_org_type and org.api_limits
    done = client.get(reverse("org_connection_status", args=[org.pk]))
    assert done.status_code == 286 and org.org_id in done.content.decode()


def test_it_shows_why_a_connection_test_failed_without_the_secret(client_for, org):
    org.password = "not-the-password"
    org.save()
    client_for("release_manager").post(reverse("org_connection_test", args=[org.pk]))
    assert environment_tasks.test_org_connection(org.pk) == "failed"
    org.refresh_from_db()
    body = (
        client_for("developer")
        .get(reverse("org_connection_status", args=[org.pk]))
        .content.decode()
    )
    assert "The last test failed" in body and "not-the-password" not in body


def test_it_explains_an_unreachable_remote(client_for, org, git_pipeline, settings):
    settings.GIT_ALLOW_INSECURE_TRANSPORTS = settings.GIT_ALLOW_PRIVATE_ADDRESSES = True
    repo = git_pipeline["repo"]
    repo.remote_url = "git://127.0.0.1:1/nowhere.git"
    repo.save()
    response = client_for("release_manager").post(
        reverse("deployment_create", args=[git_pipeline["qa"].pk]),
        {"revision": "qa", "kind": "deploy", "test_level": "NoTestRun"},
    )
    job = Job.objects.get()  # a remote: the fetch is a job's, not the request's
    assert response["Location"] == job.get_absolute_url()
    assert tasks.standalone_deploy_job(job.pk) == "failed"
    body = client_for("release_manager").get(job.get_absolute_url()).content.decode()
    assert "Could not reach the git remote" in body
    assert not Deployment.objects.exists()
