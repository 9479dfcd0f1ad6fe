"""A dry run (and the fetch before it) is a worker's job, never work inside a request: on the
request page, shown live, and in the API, answered 202 with the job to poll. The same for the
API's standalone deploy when the repository has a remote.

Against a real smart-HTTP git server on loopback and a real TCP server that never answers.
"""

import json

import pytest
from django.urls import reverse

from branching.git import storage
from branching.models import Feature
from instances.deployments import tasks as deployment_tasks
from instances.models import (
    AuthMethod,
    Capability,
    Deployment,
    InstanceGrant,
    OrgConnection,
    Promotion,
    PromotionStatus,
)
from releasemgr.models import Job, JobStatus
from releasemgr.roles import RELEASE_MANAGERS
from tests.conftest import make_instance, make_repository, make_user
from tests.gitservers import git, silent_server
from tests.instances.promotions.helpers import make_feature, run_request_jobs, served_remote
from tests.personas import PERSONAS

pytestmark = pytest.mark.django_db

URL = reverse("promotion_create")
POLL = {"HX-Request": "true", "HX-Target": "dry-run-status"}


@pytest.fixture
def served(tmp_path, loopback, developer):
    with served_remote(tmp_path / "server", developer) as world:
        yield world


def fetched(repository) -> bool:
    """Whether anything of the remote reached our copy of the storage yet."""
    if not (repository.local_path / "HEAD").exists():
        return False
    with storage.open_repo(repository.local_path) as repo:
        return storage.branch_head(repo, "feature/RM-7") is not None


def test_the_page_queues_the_dry_run_and_the_fetch_happens_in_the_job(client_for, served):
    client = client_for("developer")
    response = client.post(URL, {"features": ["RM-7"], "target": served["dev"].pk})
    job = Job.objects.get()
    assert response.status_code == 302 and f"job={job.pk}" in response["Location"]
    assert not fetched(served["repo"])  # nothing talked to the remote inside the request
    assert not Promotion.objects.exists()

    page = client.get(response["Location"])
    body = page.content.decode()
    assert 'id="dry-run-status"' in body and 'hx-trigger="every 1s"' in body
    assert f'href="{response["Location"].replace("&", "&amp;")}">Check again</a>' in body
    assert page.context["form"]["features"].value() == ["RM-7"]
    queued = client.get(response["Location"], headers=POLL)
    assert queued.status_code == 200 and "Queued" in queued.content.decode()

    assert run_request_jobs() == [JobStatus.SUCCEEDED]
    assert fetched(served["repo"])
    promotion = Promotion.objects.get()
    assert promotion.target == served["dev"] and promotion.status == PromotionStatus.QUEUED
    tip = git("-C", served["upstream"], "rev-parse", "feature/RM-7")
    assert promotion.items.get().commit == tip
    done = client.get(response["Location"], headers=POLL)
    assert done["HX-Redirect"] == promotion.get_absolute_url()
    # Without JavaScript the same page, reloaded, says so and links to it.
    body = client.get(response["Location"]).content.decode()
    assert f"Promotion #{promotion.pk} requested" in body
    assert promotion.get_absolute_url() in body


def test_queueing_anyway_on_a_remote_is_a_job_too(client_for, served):
    client = client_for("developer")
    response = client.post(
        URL, {"features": ["RM-7"], "target": served["dev"].pk, "queue_anyway": "on"}
    )
    assert "job=" in response["Location"]
    assert not fetched(served["repo"]) and not Promotion.objects.exists()
    assert run_request_jobs() == [JobStatus.SUCCEEDED]
    assert Promotion.objects.get().items.get().commit == git(
        "-C", served["upstream"], "rev-parse", "feature/RM-7"
    )


def test_a_remote_that_never_answers_fails_the_dry_run_job_not_the_request(
    client_for, loopback, developer
):
    with silent_server() as port:
        repo = make_repository(name="Silent", remote_url=f"http://127.0.0.1:{port}/x.git")
        dev = make_instance(repo, name="Silent Dev", branch="dev/x")
        make_feature(repo, "RM-8", developer, started_from=dev)
        client = client_for("developer")
        response = client.post(URL, {"features": ["RM-8"], "target": dev.pk})
        assert response.status_code == 302  # the web worker is free at once
        assert run_request_jobs() == [JobStatus.FAILED]
    job = Job.objects.get()
    assert "did not answer in time" in job.message
    assert client.get(response["Location"], headers=POLL)["HX-Refresh"] == "true"
    page = client.get(response["Location"])
    assert "did not answer in time" in page.content.decode()
    assert page.context["form"]["target"].value() == dev.pk  # to try again
    assert not Promotion.objects.exists()


def test_the_worker_checks_the_permission_again(client_for, served, developer):
    client = client_for("developer")
    response = client.post(URL, {"features": ["RM-7"], "target": served["dev"].pk})
    # Between the click and the worker, promoting into Served Dev became release managers' only.
    InstanceGrant.objects.create(
        instance=served["dev"],
        capability=Capability.PROMOTE,
        group=developer.groups.model.objects.get(name=RELEASE_MANAGERS),
    )
    assert run_request_jobs() == [JobStatus.FAILED]
    assert "may not request promotions into Served Dev" in Job.objects.get().message
    assert not Promotion.objects.exists() and not fetched(served["repo"])
    assert client.get(response["Location"]).status_code == 403  # the page says so too


@pytest.mark.parametrize("persona", PERSONAS)
def test_who_may_follow_a_dry_run(client_for, pipeline, release_manager, developer, persona):
    """Its requester, and whoever may see the target; to anyone else it does not exist."""
    rms = developer.groups.model.objects.get(name=RELEASE_MANAGERS)
    InstanceGrant.objects.create(instance=pipeline["prod"], capability=Capability.VIEW, group=rms)
    feature = make_feature(pipeline["repo"], "RM-1", developer, started_from=pipeline["alice"])
    into_prod = Job.objects.create(
        title="Dry run",
        requested_by=release_manager,
        params={
            "kind": "promotion request",
            "features": [feature.key],
            "target": pipeline["prod"].pk,
            "collection": None,
            "test_level": "",
            "run_tests": [],
            "queue_anyway": False,
            "only_dry_run": True,
        },
    )
    into_alice = Job.objects.create(
        title="Dry run", requested_by=make_user("eve-dev"), params=into_prod.params
    )
    into_alice.params = {**into_prod.params, "target": pipeline["alice"].pk}
    into_alice.save()
    hidden = {"anonymous": 302, "outsider": 403, "developer": 404}.get(persona, 200)
    seen = {"anonymous": 302, "outsider": 403}.get(persona, 200)
    client = client_for(persona)
    url = f"{URL}?feature=RM-1&target={{}}&job={{}}"
    prod_page = client.get(url.format(pipeline["prod"].pk, into_prod.pk))
    assert prod_page.status_code == hidden
    # Eve's dry run into Dev Alice: not the developer's own, but the target is theirs to see.
    assert client.get(url.format(pipeline["alice"].pk, into_alice.pk)).status_code == seen
    assert client.get(url.format(pipeline["alice"].pk, 999999)).status_code in (302, 403, 404)
    # The API answers the same way (a signed-in session counts as a caller).
    api = {"anonymous": 401, "outsider": 403, "developer": 404}.get(persona, 200)
    assert client.get(f"/api/v1/jobs/{into_prod.pk}").status_code == api
    alice_api = {"anonymous": 401, "outsider": 403}.get(persona, 200)
    assert client.get(f"/api/v1/jobs/{into_alice.pk}").status_code == alice_api


def post_json(client, path: str, body: dict) -> tuple[int, dict]:
    response = client.post(path, json.dumps(body), content_type="application/json")
    return response.status_code, response.json()


def test_the_apis_dry_run_and_request_on_a_remote_are_jobs(client_for, served):
    client = client_for("developer")
    body = {"features": ["RM-7"], "target": served["dev"].pk}
    status, job = post_json(client, "/api/v1/promotions", {**body, "dry_run": True})
    assert status == 202 and job["status"] == "queued" and job["terminal"] is False
    assert job["url"].endswith(f"/api/v1/jobs/{job['id']}")
    assert not fetched(served["repo"])
    status, anyway = post_json(client, "/api/v1/promotions", {**body, "queue_anyway": True})
    assert status == 202  # with a remote, even queueing anyway fetches first: a job
    assert not fetched(served["repo"]) and not Promotion.objects.exists()

    assert run_request_jobs() == [JobStatus.SUCCEEDED, JobStatus.SUCCEEDED]
    dry = client.get(f"/api/v1/jobs/{job['id']}").json()
    assert dry["terminal"] is True and dry["status"] == "succeeded"
    assert dry["result"]["clean"] is True and dry["result"]["conflicts"] == {}
    assert dry["result"]["direction"] == "enter" and "promotion" not in dry["result"]
    assert "The dry run is clean" in dry["message"]
    done = client.get(f"/api/v1/jobs/{anyway['id']}").json()
    promotion = Promotion.objects.get()  # the dry run alone requested nothing
    assert done["result"]["promotion"] == promotion.pk
    assert done["promotion_url"].endswith(f"/api/v1/promotions/{promotion.pk}")


def test_the_apis_standalone_deploy_on_a_remote_is_a_job(client_for, served):
    OrgConnection.objects.create(
        instance=served["uat"],
        auth_method=AuthMethod.ACCESS_TOKEN,
        instance_url="https://acme.my.salesforce.com",
        access_token="00Dxx!tokenvalue",
    )
    client = client_for("release_manager")
    status, job = post_json(
        client,
        f"/api/v1/instances/{served['uat'].pk}/deployments",
        {"revision": "main", "kind": "validate", "test_level": "NoTestRun"},
    )
    assert status == 202, job
    assert not fetched(served["repo"]) and not Deployment.objects.exists()
    assert deployment_tasks.standalone_deploy_job(job["id"]) == JobStatus.SUCCEEDED
    deployment = Deployment.objects.get()
    assert deployment.to_commit == git("-C", served["upstream"], "rev-parse", "main")
    done = client.get(f"/api/v1/jobs/{job['id']}").json()
    assert done["result"] == {"deployment": deployment.pk}
    assert done["deployment_url"].endswith(f"/api/v1/deployments/{deployment.pk}")
    # A revision the remote does not have: the job says why, and nothing is deployed.
    status, bad = post_json(
        client,
        f"/api/v1/instances/{served['uat'].pk}/deployments",
        {"revision": "no-such-branch", "kind": "validate", "test_level": "NoTestRun"},
    )
    assert status == 202
    assert deployment_tasks.standalone_deploy_job(bad["id"]) == JobStatus.FAILED
    failed = client.get(f"/api/v1/jobs/{bad['id']}").json()
    assert failed["status"] == "failed" and "no-such-branch" in failed["message"]
    assert Deployment.objects.count() == 1
    assert Feature.objects.count() == 1


def test_the_apis_feature_start_on_a_remote_is_a_job(client_for, served):
    client = client_for("developer")
    body = {"instance": served["dev"].pk, "key": "RM-9", "title": "Remote work"}
    status, job = post_json(client, "/api/v1/features", body)
    assert status == 202, job
    assert not Feature.objects.filter(key="RM-9").exists() and not fetched(served["repo"])
    from instances.promotions.tasks import start_feature_job

    assert start_feature_job(job["id"]) == JobStatus.SUCCEEDED
    done = client.get(f"/api/v1/jobs/{job['id']}").json()
    assert done["result"] == {"feature": "RM-9"}
    assert done["feature_url"].endswith("/api/v1/features/RM-9")
    feature = Feature.objects.get(key="RM-9")
    assert git("-C", served["upstream"], "rev-parse", feature.branch)  # cut up there
