"""The demo's simulated org: a validation it refuses, played by `seed_demo` through the real
engine and shown on the pages, labelled as a simulation; and nowhere outside the demo."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from instances import salesforce as sf
from instances.models import (
    Deployment,
    DeploymentKind,
    DeploymentStatus,
    Instance,
    OrgConnection,
    Promotion,
    PromotionStatus,
)
from instances.salesforce import simulation
from instances.salesforce.simulation.demo import SimulationRefused, serving
from tests.gitservers import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_the_seed_fails_a_validation_in_the_simulated_org_through_the_engine(
    demo_settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEMO_PASSWORD", "demo-password")
    call_command("seed_demo", "--if-empty", stdout=StringIO())
    qa = Instance.objects.get(name="QA")
    connection = OrgConnection.objects.get(instance=qa, is_active=True)
    assert connection.login_url == simulation.url()
    assert connection.org_id and not connection.last_check_error  # Test connection ran
    assert connection.simulated_label == "Simulated org (demo)"

    failed = Promotion.objects.get(status=PromotionStatus.FAILED)
    assert failed.target == qa
    assert [i.feature.key for i in failed.items.all()] == ["RM-109"]
    assert "Variable does not exist: Health_Score__c" in failed.failure_reason
    (validation,) = Deployment.objects.filter(promotion=failed)
    assert validation.kind == DeploymentKind.VALIDATE
    assert validation.status == DeploymentStatus.FAILED
    assert validation.sf_deploy_id.startswith("0Af")  # the org's own id: it really ran there
    assert validation.components_total > 0  # progress was reported
    (failure,) = validation.component_failures
    assert failure["name"] == "AccountHealth" and failure["line"] == 3
    assert failure["problem"] == "Variable does not exist: Health_Score__c"

    client = Client()
    assert client.login(username="release-manager", password="demo-password")
    promotion_page = client.get(failed.get_absolute_url()).content.decode()
    assert "Variable does not exist: Health_Score__c" in promotion_page
    assert "AccountHealth" in promotion_page
    deployment_page = client.get(f"/deployments/{validation.pk}/").content.decode()
    assert "Variable does not exist: Health_Score__c" in deployment_page
    instance_page = client.get(qa.get_absolute_url()).content.decode()
    assert 'id="simulated-org"' in instance_page and "Simulated org (demo)" in instance_page
    edit = client.get(f"/org-connections/{connection.pk}/edit/").content.decode()
    assert "Simulated org (demo)" in edit
    dashboard = client.get("/").content.decode()
    assert f'href="/promotions/{failed.pk}/"' in dashboard  # the conflict later hides nothing

    before = (Promotion.objects.count(), Deployment.objects.count(), OrgConnection.objects.count())
    call_command("seed_demo", "--if-empty", stdout=StringIO())
    after = (Promotion.objects.count(), Deployment.objects.count(), OrgConnection.objects.count())
    assert after == before


def test_the_simulation_refuses_to_start_outside_the_demo(demo_settings) -> None:
    demo_settings.DEBUG = False
    with pytest.raises(SimulationRefused, match="only in the demo"):
        serving().__enter__()
    errors = [m for m in run_checks() if m.id == "releasemgr.E002"]
    assert errors and "DEMO_SIMULATED_ORG is on without DEBUG" in errors[0].msg
    demo_settings.DEBUG, demo_settings.DEMO_SIMULATED_ORG = True, False
    with pytest.raises(SimulationRefused):
        serving().__enter__()
    assert not [m for m in run_checks() if m.id == "releasemgr.E002"]
    assert not simulation.is_simulated(simulation.url())  # and no page calls it one


@pytest.mark.django_db
def test_outside_the_demo_no_connection_is_labelled_simulated(demo_settings) -> None:
    connection = OrgConnection(login_url=simulation.url())
    assert connection.simulated_label == "Simulated org (demo)"
    demo_settings.DEMO_SIMULATED_ORG = False
    assert connection.simulated_label == ""


def _command(args: list[str], env: dict[str, str], **kw) -> subprocess.Popen[str]:
    environ = {**os.environ, **env}
    environ.pop("DJANGO_SETTINGS_MODULE", None)  # the project's own settings, as `make run`
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def test_the_command_serves_the_demo_org_and_refuses_without_debug(tmp_path: Path) -> None:
    port = str(free_port())
    env = {"DATA_DIR": str(tmp_path), "DEMO_SIMULATED_ORG": "1", "DEMO_SIMULATED_ORG_PORT": port}
    refused = _command(["simulated_org"], {**env, "DEBUG": "0", "SECRET_KEY": "x" * 50})
    _, err = refused.communicate(timeout=120)
    assert refused.returncode != 0 and "releasemgr.E002" in err
    served = _command(["simulated_org"], {**env, "DEBUG": "1"})
    try:
        line = served.stdout.readline() if served.stdout else ""
        assert f"Simulated org (demo) at https://127.0.0.1:{port}" in line, served.stderr
        bundle = tmp_path / "simulated-org" / "ca-bundle.pem"
        assert bundle.read_text().count("BEGIN CERTIFICATE") > 100  # certifi's CAs and its own
        credentials = sf.Credentials(
            auth_method=sf.AuthMethod.CLIENT_CREDENTIALS,
            login_url=f"https://127.0.0.1:{port}",
            consumer_key="3MVG9standin.consumer.key",
            client_secret="C0nsumerS3cretF00",
        )
        with override_settings(SALESFORCE_EXTRA_HOSTS=["127.0.0.1"]):
            facts = sf.test_connection(credentials, ca_bundle=str(bundle))
        assert re.search(r"Simulated org \(demo\)", facts.name)
    finally:
        served.terminate()
        served.wait(timeout=30)
    assert served.returncode == 0


def test_the_command_refuses_outside_the_demo_even_past_the_checks(demo_settings) -> None:
    demo_settings.DEBUG = False
    with pytest.raises(CommandError, match="only in the demo"):
        call_command("simulated_org", skip_checks=True)


@pytest.mark.django_db
def test_the_seed_refuses_a_taken_port_before_seeding_anything(demo_settings) -> None:
    import socket

    from branching.models import Repository

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", demo_settings.DEMO_SIMULATED_ORG_PORT))
        taken.listen()
        with pytest.raises(CommandError, match="DEMO_SIMULATED_ORG_PORT"):
            call_command("seed_demo", "--if-empty", stdout=StringIO())
    assert not Repository.objects.exists() and not Instance.objects.exists()
