"""Network work is never done inside a request: with a remote, starting a feature, creating an
environment branch and a standalone deploy's fetch are jobs, followed live on their page.

Against a real smart-HTTP git server on loopback and a real TCP server that never answers.
"""

import time

import pytest
from django.test import Client
from django.urls import reverse

from branching.git import storage
from branching.models import Feature
from instances.environments import tasks as environment_tasks
from instances.promotions import tasks as promotion_tasks
from releasemgr.models import Job, JobStatus
from tests.conftest import make_instance, make_repository, make_user
from tests.gitservers import git, http_git_server, make_upstream, silent_server

pytestmark = pytest.mark.django_db


@pytest.fixture
def served(tmp_path, loopback):
    upstream = make_upstream(tmp_path / "server")
    with http_git_server(upstream.parent) as base:
        repo = make_repository(name="Served", remote_url=base + upstream.name)
        uat = make_instance(repo, name="Served UAT", branch="uat")
        dev = make_instance(repo, name="Served Dev", branch="dev/carol", parent=uat)
        yield {"upstream": upstream, "repo": repo, "uat": uat, "dev": dev}


def test_starting_a_feature_on_a_remote_is_a_job(client_for, served):
    client = client_for("developer")
    started = time.monotonic()
    response = client.post(
        reverse("feature_create"),
        {"instance": served["dev"].pk, "key": "RM-7", "title": "Remote work"},
    )
    assert time.monotonic() - started < 1
    job = Job.objects.get()
    assert response["Location"] == job.get_absolute_url() and job.status == JobStatus.QUEUED
    assert not Feature.objects.exists()  # nothing happened inside the request
    page = client.get(job.get_absolute_url(), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="job-status")
    assert page.status_code == 200 and "Waiting for a worker" in page.content.decode()
    assert promotion_tasks.start_feature_job(job.pk) == JobStatus.SUCCEEDED
    feature = Feature.objects.get(key="RM-7")
    assert git("-C", served["upstream"], "rev-parse", feature.branch)  # pushed upstream
    page = client.get(job.get_absolute_url(), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="job-status")
    assert page.status_code == 286  # polling stops once the job has ended
    assert feature.get_absolute_url() in page.content.decode()
    assert promotion_tasks.start_feature_job(job.pk) == "skipped"  # a duplicate task: nothing


def test_a_remote_that_never_answers_fails_the_job_within_the_timeouts(client_for, loopback):
    with silent_server() as port:
        repo = make_repository(name="Silent", remote_url=f"http://127.0.0.1:{port}/x.git")
        dev = make_instance(repo, name="Silent Dev", branch="dev/x")
        client = client_for("developer")
        started = time.monotonic()
        client.post(reverse("feature_create"), {"instance": dev.pk, "key": "RM-8", "title": "t"})
        assert time.monotonic() - started < 1  # the web worker is free at once
        job = Job.objects.get()
        started = time.monotonic()
        assert promotion_tasks.start_feature_job(job.pk) == JobStatus.FAILED
        assert time.monotonic() - started < 10
    job.refresh_from_db()
    assert "did not answer in time" in job.message
    assert "did not answer in time" in client.get(job.get_absolute_url()).content.decode()


def test_creating_an_environment_branch_on_a_remote_is_a_job(client_for, served):
    git("-C", served["upstream"], "branch", "-D", "uat")
    response = client_for("release_manager").post(
        reverse("instance_create_branch", args=[served["uat"].pk])
    )
    job = Job.objects.get()
    assert response["Location"] == job.get_absolute_url()
    assert environment_tasks.create_branch_job(job.pk) == JobStatus.SUCCEEDED
    assert git("-C", served["upstream"], "rev-parse", "uat") == git(
        "-C", served["upstream"], "rev-parse", "main"
    )


PERSONAS = ["anonymous", "outsider", "developer", "release_manager", "admin"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_job_page_permission_matrix(client_for, personas, persona, developer):
    mine = Job.objects.create(title="Start feature RM-1", requested_by=developer)
    other = Job.objects.create(title="Someone else's", requested_by=make_user("eve-dev"))
    expected_mine = {"anonymous": 302, "outsider": 403}.get(persona, 200)
    expected_other = {"anonymous": 302, "outsider": 403, "developer": 404}.get(persona, 200)
    client = client_for(persona)
    assert client.get(mine.get_absolute_url()).status_code == expected_mine
    assert client.get(other.get_absolute_url()).status_code == expected_other
    assert client.post(mine.get_absolute_url()).status_code in (302, 403, 405)


@pytest.fixture
def local(git_pipeline):
    return git_pipeline


@pytest.mark.parametrize(
    ("branch", "why"),
    [
        ("uat", "the branch of the instance UAT"),
        ("dev/bob", "the branch of the instance Dev Bob"),
        ("main", "the branch of the instance Production"),
        ("releasemgr/promotion-1", "releasemgr's own work branches"),
    ],
)
def test_an_environment_branch_cannot_be_attached_as_a_feature(client_for, local, branch, why):
    response = client_for("developer").post(
        reverse("feature_create"),
        {"instance": local["alice"].pk, "key": "RM-3", "title": "Sneak", "attach_branch": branch},
    )
    assert response.status_code == 200
    assert why in " ".join(response.context["form"].errors["attach_branch"])
    assert not Feature.objects.exists()


def test_another_repositorys_main_branch_on_the_storage_is_refused_too(client_for, local):
    long_term = make_repository(name="Q1", storage="acme", main_branch="release/q1")
    with storage.open_repo(local["repo"].local_path) as repo:
        storage.create_branch(repo, "release/q1", storage.branch_head(repo, "main"))
    response = client_for("developer").post(
        reverse("feature_create"),
        {"instance": local["alice"].pk, "key": "RM-4", "title": "x", "attach_branch": "release/q1"},
    )
    assert f"main branch of {long_term.name}" in " ".join(
        response.context["form"].errors["attach_branch"]
    )


def test_a_branch_name_clash_is_a_form_error(client_for, local):
    with storage.open_repo(local["repo"].local_path) as repo:
        storage.create_branch(repo, "feature", storage.branch_head(repo, "main"))
    response = client_for("developer").post(
        reverse("feature_create"), {"instance": local["alice"].pk, "key": "RM-5", "title": "x"}
    )
    assert response.status_code == 200
    assert "“feature” exists" in " ".join(response.context["form"].non_field_errors())
    assert not Feature.objects.exists()


def test_creating_an_environment_branch_beside_a_clashing_one_is_a_message(client_for, local):
    dev = make_instance(local["repo"], name="Dev", branch="dev", parent=local["integration"])
    response = client_for("release_manager").post(
        reverse("instance_create_branch", args=[dev.pk]), follow=True
    )
    assert response.status_code == 200
    assert "Branches named “dev/…” exist" in response.content.decode()


def test_anonymous_cannot_reach_a_job(db):
    job = Job.objects.create(title="x")
    assert Client().get(job.get_absolute_url()).status_code == 302
