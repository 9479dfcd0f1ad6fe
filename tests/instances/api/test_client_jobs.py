"""`releasemgr-client` waits for the server's job when a call is answered 202: promoting and
deploying on a repository with a remote (a real smart-HTTP git server on loopback), against a
live server, with a worker thread doing the jobs as the task cluster would."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest
from django.db import connections

from branching.models import Feature
from instances.deployments.tasks import standalone_deploy_job
from instances.models import AuthMethod, Deployment, OrgConnection, Promotion
from instances.promotions.tasks import start_feature_job
from releasemgr import tokens
from releasemgr.models import Job, JobStatus
from tests.gitservers import git
from tests.instances.promotions.helpers import run_request_jobs, served_remote
from tests.workers import ROOT

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def cli(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "client"))
    monkeypatch.setenv("RELEASEMGR_POLL_SECONDS", "0.2")
    from releasemgr_client import cli as module

    monkeypatch.setattr(module, "POLL_SECONDS", 0.2)
    yield module
    for name in [m for m in sys.modules if m.startswith("releasemgr_client")]:
        del sys.modules[name]


@pytest.fixture
def worker() -> Iterator[None]:
    """Does every queued job, as the task cluster would, until the test ends."""
    stop = threading.Event()

    def loop() -> None:
        try:
            while not stop.wait(0.1):
                run_request_jobs()
                for job in Job.objects.filter(status=JobStatus.QUEUED):
                    if job.title.startswith("Deploy "):
                        standalone_deploy_job(job.pk)
                    elif job.title.startswith("Start feature "):
                        start_feature_job(job.pk)
        finally:
            connections.close_all()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(10)


def test_the_client_follows_the_job_of_a_promotion_and_a_deploy_on_a_remote(
    live_server, loopback, tmp_path, developer, release_manager, cli, worker, capsys
):
    with served_remote(tmp_path / "server", developer) as served:
        uat, upstream = served["uat"], served["upstream"]
        OrgConnection.objects.create(
            instance=uat,
            auth_method=AuthMethod.ACCESS_TOKEN,
            instance_url="https://acme.my.salesforce.com",
            access_token="00Dxx!tokenvalue",
        )
        url = ["--url", live_server.url]
        _, dev_token = tokens.create_token(developer, "ci", ["promote"])
        with pytest.MonkeyPatch.context() as env:
            env.setenv("RELEASEMGR_TOKEN", dev_token)
            start = [*url, "feature", "start", "--instance", "Served Dev", "--key", "RM-8"]
            assert cli.main([*start, "--title", "Remote"]) == 0
            assert "Started RM-8 “Remote” from Served Dev" in capsys.readouterr().out
            assert git("-C", upstream, "rev-parse", Feature.objects.get(key="RM-8").branch)
            assert cli.main([*url, "promote", "RM-7", "--to", "Served Dev"]) == 0
        promotion = Promotion.objects.get()
        assert f"Promotion #{promotion.pk} (enter the pipeline): RM-7 into Served Dev" in (
            capsys.readouterr().out
        )
        _, rm_token = tokens.create_token(release_manager, "ci", ["manage"])
        with pytest.MonkeyPatch.context() as env:
            env.setenv("RELEASEMGR_TOKEN", rm_token)
            assert cli.main([*url, "deploy", "--instance", "Served UAT", "--validate"]) == 0
            deployment = Deployment.objects.get()
            assert f"Deployment #{deployment.pk} (validate)" in capsys.readouterr().out
            assert deployment.to_commit == git("-C", upstream, "rev-parse", "uat")
            # A revision the remote lacks: the job fails, and the client says why (exit 2).
            bad = [*url, "deploy", "--instance", "Served UAT", "--revision", "nope"]
            assert cli.main(bad) == 2
            assert "nope" in capsys.readouterr().err
