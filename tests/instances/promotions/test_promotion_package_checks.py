"""A promotion whose package has problems of the repository's making: warnings, or a failure
with the reason, never an errored promotion (against the Salesforce stand-in)."""

import pytest

from branching.features import start_feature
from branching.git import storage
from branching.metadata import package as package_module
from instances.models import Deployment, DeploymentStatus, PromotionStatus
from instances.promotions import engine
from instances.promotions.rules import request_promotion
from tests.salesforce_standin.connections import password_connection

pytest_plugins = ["tests.salesforce_standin.plugin"]
pytestmark = pytest.mark.django_db

CLASS = "force-app/main/default/classes/InvoiceService.cls"
APEX = b"public with sharing class InvoiceService {}\n"
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
    password_connection(salesforce, instance=git_pipeline["alice"]).save()
    return salesforce


def feature_with(git_pipeline, developer, changes: dict[str, bytes]):
    feature = start_feature(
        git_pipeline["repo"],
        key="RM-10",
        title="Invoice service",
        owner=developer,
        started_from_id=git_pipeline["alice"].pk,
    )
    with storage.open_repo(feature.repository.local_path) as repo:
        old = storage.branch_head(repo, feature.branch)
        new = storage.commit_changes(
            repo, parent=old, changes=changes, message="work", author="Dev <dev@example.com>"
        )
        storage.update_branch(repo, feature.branch, new, old)
    return feature


def alice_head(git_pipeline) -> str:
    with storage.open_repo(git_pipeline["repo"].local_path) as repo:
        return storage.hex_id(storage.branch_head(repo, "dev/alice"))


def test_a_bad_forceignore_pattern_is_a_warning_on_the_deployment(
    org, git_pipeline, developer
) -> None:
    feature = feature_with(
        git_pipeline,
        developer,
        {
            ".forceignore": b"**/jsconfig.json\n[z-a]\n*a*a*a*a*a*a*a*a*a*a*a*a*b\n",
            CLASS: APEX,
            CLASS + "-meta.xml": APEX_META,
            # A name that makes a backtracking matcher stall on the pattern above.
            f"force-app/main/default/classes/{'a' * 50}.cls": APEX,
            f"force-app/main/default/classes/{'a' * 50}.cls-meta.xml": APEX_META,
        },
    )
    promotion = request_promotion(features=[feature], target=git_pipeline["alice"], user=developer)
    engine.run_promotion(promotion.pk, "w")
    promotion.refresh_from_db()
    assert promotion.status == PromotionStatus.SUCCEEDED, promotion.failure_reason
    deployment = Deployment.objects.get(promotion=promotion)
    [warning] = [w for w in deployment.package_summary["warnings"] if ".forceignore" in w]
    assert warning.startswith(".forceignore line 2: “[z-a]”")
    assert promotion.log.filter(message__contains="Package warning: .forceignore line 2").exists()
    assert "InvoiceService" in deployment.package_summary["members"]["ApexClass"]


def test_a_package_over_the_deploy_limits_fails_before_anything_is_sent(
    org, git_pipeline, developer, monkeypatch
) -> None:
    # The real limit is 10,000 files; three make the same point without 10,000 commits.
    monkeypatch.setattr(package_module, "MAX_FILES", 2)
    feature = feature_with(git_pipeline, developer, {CLASS: APEX, CLASS + "-meta.xml": APEX_META})
    before = alice_head(git_pipeline)
    promotion = request_promotion(features=[feature], target=git_pipeline["alice"], user=developer)
    engine.run_promotion(promotion.pk, "w")
    promotion.refresh_from_db()
    assert promotion.status == PromotionStatus.FAILED
    assert "The package has 3 files; Salesforce deploys at most 2 files" in promotion.failure_reason
    assert "Split the promotion" in promotion.failure_reason
    assert alice_head(git_pipeline) == before
    assert not org.deployments
    deployment = Deployment.objects.get(promotion=promotion)
    assert deployment.status == DeploymentStatus.FAILED and not deployment.sf_deploy_id
