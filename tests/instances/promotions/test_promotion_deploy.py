"""Step 4 of a promotion against the Salesforce stand-in: deploy, fail, resume, validate first."""

import io
import zipfile
from datetime import timedelta

import pytest
from django.utils import timezone

from branching.features import start_feature
from branching.git import storage
from instances.models import Deployment, DeploymentStatus, Promotion, PromotionStatus, Step
from instances.promotions import engine, running, steps
from instances.promotions.rules import request_promotion
from tests.instances.promotions.helpers import run_request_jobs
from tests.salesforce_standin.connections import password_connection

pytest_plugins = ["tests.salesforce_standin.plugin"]
pytestmark = pytest.mark.django_db

CLASS = "force-app/main/default/classes/InvoiceService.cls"
META = CLASS + "-meta.xml"
APEX = (
    b"public with sharing class InvoiceService {\n"
    b"    public static Decimal total() { return 0; }\n}\n"
)
APEX_META = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<ApexClass xmlns="http://soap.sforce.com/'
    b'2006/04/metadata">\n    <apiVersion>62.0</apiVersion>\n    <status>Active</status>\n'
    b"</ApexClass>\n"
)


@pytest.fixture
def org(salesforce, settings, git_pipeline):
    settings.SALESFORCE_CA_BUNDLE = salesforce.ca_path
    settings.DEPLOY_POLL_SECONDS = 0.01
    settings.ARTIFACTS_DIR = settings.REPOSITORIES_DIR.parent / "artifacts"
    settings.DATA_DIR = settings.REPOSITORIES_DIR.parent
    connection = password_connection(salesforce, instance=git_pipeline["alice"])
    connection.save()
    return salesforce


@pytest.fixture
def feature(git_pipeline, developer):
    feature = start_feature(
        git_pipeline["repo"],
        key="RM-9",
        title="Invoice service",
        owner=developer,
        started_from_id=git_pipeline["alice"].pk,
    )
    with storage.open_repo(feature.repository.local_path) as repo:
        old = storage.branch_head(repo, feature.branch)
        new = storage.commit_changes(
            repo,
            parent=old,
            changes={CLASS: APEX, META: APEX_META},
            message="Invoice service",
            author="Dev <dev@example.com>",
        )
        storage.update_branch(repo, feature.branch, new, old)
    return feature


def alice_head(git_pipeline) -> str:
    with storage.open_repo(git_pipeline["repo"].local_path) as repo:
        return storage.hex_id(storage.branch_head(repo, "dev/alice"))


def deploys(standin):
    return list(standin.deployments.values())


def test_it_deploys_the_delta_before_moving_the_branch(org, git_pipeline, feature, developer):
    before = alice_head(git_pipeline)
    promotion = request_promotion(features=[feature], target=git_pipeline["alice"], user=developer)
    engine.run_promotion(promotion.pk, "w")
    promotion.refresh_from_db()
    assert promotion.status == PromotionStatus.SUCCEEDED, promotion.failure_reason
    assert alice_head(git_pipeline) != before
    [sent] = deploys(org)
    assert not sent.check_only and sent.test_level == "NoTestRun"
    with zipfile.ZipFile(io.BytesIO(sent.zip_bytes)) as archive:
        names = set(archive.namelist())
        manifest = archive.read("package.xml").decode()
    assert {
        "package.xml",
        "classes/InvoiceService.cls",
        "classes/InvoiceService.cls-meta.xml",
    } <= names
    assert "<members>InvoiceService</members>" in manifest and "<name>ApexClass</name>" in manifest
    deployment = Deployment.objects.get(promotion=promotion)
    assert deployment.status == DeploymentStatus.SUCCEEDED
    assert deployment.sf_deploy_id == sent.id
    assert deployment.from_commit == before and deployment.to_commit == promotion.merged_head
    assert (org_artifact := deployment.artifact) and org_artifact.endswith(f"{deployment.pk}.zip")
    assert promotion.log.filter(
        message__startswith=f"Deployed to Dev Alice's org ({sent.id})"
    ).exists()


def test_it_leaves_the_branch_unmoved_when_the_org_refuses(org, git_pipeline, feature, developer):
    org.knobs.deploy_outcome = "component_errors"
    before = alice_head(git_pipeline)
    promotion = request_promotion(features=[feature], target=git_pipeline["alice"], user=developer)
    engine.run_promotion(promotion.pk, "w")
    promotion.refresh_from_db()
    assert promotion.status == PromotionStatus.FAILED
    assert alice_head(git_pipeline) == before
    deployment = Deployment.objects.get(promotion=promotion)
    assert deployment.status == DeploymentStatus.FAILED
    failure = deployment.component_failures[0]
    assert failure["problem"] and failure["file"]
    assert failure["problem"] in promotion.failure_reason
    with storage.open_repo(git_pipeline["repo"].local_path) as repo:
        assert not [b for b in storage.list_branches(repo) if b.startswith("releasemgr/")]


def test_it_reports_test_failures(org, git_pipeline, feature, developer):
    org.knobs.deploy_outcome = "test_failures"
    git_pipeline["alice"].test_level = "RunLocalTests"
    git_pipeline["alice"].save()
    promotion = request_promotion(features=[feature], target=git_pipeline["alice"], user=developer)
    engine.run_promotion(promotion.pk, "w")
    promotion.refresh_from_db()
    deployment = Deployment.objects.get(promotion=promotion)
    assert promotion.status == PromotionStatus.FAILED
    assert deployment.test_failures and deployment.test_failures[0]["method"]
    assert deploys(org)[0].test_level == "RunLocalTests"


def test_it_resumes_polling_after_a_crash_without_deploying_twice(
    org, git_pipeline, feature, developer
):
    org.knobs.deploy_polls = 3
    promotion = request_promotion(features=[feature], target=git_pipeline["alice"], user=developer)
    claimed = engine.claim(promotion.pk, "doomed")
    doomed = running.Run(claimed, "doomed")

    class WorkerDied(Exception):
        pass

    def die() -> None:
        raise WorkerDied()

    with storage.open_repo(git_pipeline["repo"].local_path) as repo:
        steps.check(doomed, repo)
        steps.create_temp_branch(doomed, repo)
        steps.merge_features(doomed, repo)
        doomed.heartbeat = die  # the worker dies while it polls
        with pytest.raises(WorkerDied):
            steps.deploy(doomed, repo)
    assert len(deploys(org)) == 1
    assert Promotion.objects.get(pk=promotion.pk).step == Step.MERGED
    Promotion.objects.filter(pk=promotion.pk).update(lease_until=timezone.now() - timedelta(1))
    engine.run_promotion(promotion.pk, "rescuer")
    promotion.refresh_from_db()
    assert promotion.status == PromotionStatus.SUCCEEDED, promotion.failure_reason
    assert len(deploys(org)) == 1
    assert promotion.log.filter(message__startswith="Resuming the wait").exists()


def test_it_validates_then_quick_deploys(org, git_pipeline, feature, developer):
    git_pipeline["alice"].validate_first = True
    git_pipeline["alice"].test_level = "RunLocalTests"
    git_pipeline["alice"].save()
    promotion = request_promotion(features=[feature], target=git_pipeline["alice"], user=developer)
    engine.run_promotion(promotion.pk, "w")
    promotion.refresh_from_db()
    assert promotion.status == PromotionStatus.SUCCEEDED, promotion.failure_reason
    validation, quick = deploys(org)
    assert validation.check_only and quick.quick_of == validation.id
    kinds = list(
        Deployment.objects.filter(promotion=promotion).order_by("id").values_list("kind", flat=True)
    )
    assert kinds == ["validate", "quick_deploy"]


def test_it_fails_clearly_when_the_org_refuses_the_login(org, git_pipeline, feature, developer):
    connection = git_pipeline["alice"].org_connection
    connection.password = "wrong"
    connection.save()
    before = alice_head(git_pipeline)
    promotion = request_promotion(features=[feature], target=git_pipeline["alice"], user=developer)
    engine.run_promotion(promotion.pk, "w")
    promotion.refresh_from_db()
    assert promotion.status == PromotionStatus.FAILED
    assert "wrong" not in promotion.failure_reason
    assert "log" in promotion.failure_reason.lower()
    assert alice_head(git_pipeline) == before


def test_it_deploys_after_a_validation_without_tests(org, git_pipeline, feature, developer):
    git_pipeline["alice"].validate_first = True
    git_pipeline["alice"].save()
    promotion = request_promotion(features=[feature], target=git_pipeline["alice"], user=developer)
    engine.run_promotion(promotion.pk, "w")
    promotion.refresh_from_db()
    assert promotion.status == PromotionStatus.SUCCEEDED, promotion.failure_reason
    validation, deploy = deploys(org)
    assert validation.check_only and not deploy.check_only and not deploy.quick_of


def test_it_shows_the_deployment_and_its_errors_on_the_promotion_page(
    org, git_pipeline, feature, developer, client_for
):
    org.knobs.deploy_outcome = "component_errors"
    promotion = request_promotion(features=[feature], target=git_pipeline["alice"], user=developer)
    engine.run_promotion(promotion.pk, "w")
    deployment = Deployment.objects.get(promotion=promotion)
    body = client_for("developer").get(promotion.get_absolute_url()).content.decode()
    assert f'href="{deployment.get_absolute_url()}"' in body
    assert deployment.component_failures[0]["problem"] in body
    assert 'role="progressbar"' in body
    instance_page = (
        client_for("release_manager").get(git_pipeline["alice"].get_absolute_url()).content.decode()
    )
    assert "Test connection" in instance_page and f"#{deployment.pk}" in instance_page


def test_it_keeps_every_secret_and_session_id_out_of_records_and_logs(
    org, git_pipeline, feature, developer, client_for, caplog
):
    from django.apps import apps
    from django.db import connection as db

    from instances.environments import tasks

    caplog.set_level("DEBUG")
    connection = git_pipeline["alice"].org_connection
    password = connection.password.reveal()
    token = connection.security_token.reveal()
    tasks.test_org_connection(connection.pk)
    org.knobs.deploy_outcome = "component_errors"
    promotion = request_promotion(features=[feature], target=git_pipeline["alice"], user=developer)
    engine.run_promotion(promotion.pk, "w")
    secrets = [password, token, *org.issued_sessions]
    assert org.issued_sessions  # the stand-in handed out session ids
    rows = []
    with db.cursor() as cursor:
        for model in apps.get_models():
            cursor.execute(f'SELECT * FROM "{model._meta.db_table}"')  # noqa: S608
            rows.extend(str(row) for row in cursor.fetchall())
    dump = "\n".join(rows)
    pages = "".join(
        client_for("admin").get(url).content.decode()
        for url in (
            promotion.get_absolute_url(),
            git_pipeline["alice"].get_absolute_url(),
            Deployment.objects.get(promotion=promotion).get_absolute_url(),
        )
    )
    for secret in secrets:
        assert secret not in dump
        assert secret not in caplog.text
        assert secret not in pages


def test_it_overrides_the_test_level_per_promotion(
    org, git_pipeline, feature, developer, client_for
):
    from django.urls import reverse

    response = client_for("developer").post(
        reverse("promotion_create"),
        {
            "features": [feature.key],
            "target": git_pipeline["alice"].pk,
            "test_level": "RunSpecifiedTests",
            "run_tests": "InvoiceServiceTest",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert run_request_jobs() == ["succeeded"]
    promotion = Promotion.objects.get()
    assert promotion.test_level == "RunSpecifiedTests"
    assert promotion.run_tests == ["InvoiceServiceTest"]
    engine.run_promotion(promotion.pk, "w")
    [sent] = deploys(org)
    assert sent.test_level == "RunSpecifiedTests" and sent.run_tests == ["InvoiceServiceTest"]


# A thread runs the worker, so the data must be committed; the role groups come from a data
# migration, which a transactional test's flush would otherwise remove for the tests after it.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_cancelled_deployment_fails_the_promotion_and_leaves_the_branch(
    org, git_pipeline, feature, developer, client_for, settings
):
    import threading
    import time

    from django.db import connections
    from django.urls import reverse

    from instances.deployments import tasks

    settings.DEPLOY_POLL_SECONDS = 0.05
    org.knobs.deploy_never_finishes = True
    before = alice_head(git_pipeline)
    promotion = request_promotion(features=[feature], target=git_pipeline["alice"], user=developer)

    def work() -> None:
        try:
            engine.run_promotion(promotion.pk, "w")
        finally:
            connections.close_all()

    worker = threading.Thread(target=work)
    worker.start()
    deadline = time.monotonic() + 30
    while not Deployment.objects.exclude(sf_deploy_id="").exists():
        assert time.monotonic() < deadline, "the deployment never started"
        time.sleep(0.05)
    deployment = Deployment.objects.get()
    assert (
        client_for("developer").post(reverse("deployment_cancel", args=[deployment.pk])).status_code
        == 403
    )
    response = client_for("release_manager").post(
        reverse("deployment_cancel", args=[deployment.pk])
    )
    assert response.status_code == 302
    assert tasks.cancel_deployment(deployment.pk) == "cancel requested"
    worker.join(timeout=30)
    assert not worker.is_alive()
    promotion.refresh_from_db()
    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.CANCELLED
    assert promotion.status == PromotionStatus.FAILED
    assert "Canceled" in promotion.failure_reason or "cancel" in promotion.failure_reason.lower()
    assert alice_head(git_pipeline) == before
