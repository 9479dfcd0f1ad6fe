"""Deployments as real orgs answer them, end to end against the stand-in: warnings on deletions
(ignoreWarnings per instance), coverage failures as the reason on the deployment and promotion
pages, coverage of the classes deployed, and production's test levels."""

from __future__ import annotations

import pytest

from branching.features import start_feature
from branching.git import storage
from instances.models import (
    Deployment,
    DeploymentKind,
    DeploymentStatus,
    IgnoreWarnings,
    PromotionStatus,
)
from instances.promotions import engine
from instances.promotions.rules import request_promotion
from tests.salesforce_standin.connections import password_connection

pytest_plugins = ["tests.salesforce_standin.plugin"]
pytestmark = pytest.mark.django_db

CLASSES = "force-app/main/default/classes/"
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
    for key in ("alice", "prod"):
        password_connection(salesforce, instance=git_pipeline[key]).save()
    return salesforce


def feature(git_pipeline, developer, key, changes, started_from="alice"):
    made = start_feature(
        git_pipeline["repo"],
        key=key,
        title=key,
        owner=developer,
        started_from_id=git_pipeline[started_from].pk,
    )
    with storage.open_repo(made.repository.local_path) as repo:
        old = storage.branch_head(repo, made.branch)
        new = storage.commit_changes(
            repo, parent=old, changes=changes, message=key, author="Dev <dev@example.com>"
        )
        storage.update_branch(repo, made.branch, new, old)
    return made


def promote(feature_, target, developer):
    promotion = request_promotion(features=[feature_], target=target, user=developer)
    engine.run_promotion(promotion.pk, "w")
    promotion.refresh_from_db()
    return promotion, Deployment.objects.get(promotion=promotion)


DELETE_INVOICE = {f"{CLASSES}Invoice.cls": None, f"{CLASSES}Invoice.cls-meta.xml": None}


def test_a_deletion_is_deployed_with_warnings_ignored_and_the_warning_shown(
    org, git_pipeline, developer, client_for
):
    # The org never had Invoice: deleting it is a warning.
    promotion, deployment = promote(
        feature(git_pipeline, developer, "RM-1", DELETE_INVOICE), git_pipeline["alice"], developer
    )

    assert promotion.status == PromotionStatus.SUCCEEDED, promotion.failure_reason
    (sent,) = org.deployments.values()
    assert sent.ignore_warnings and sent.destructive == {"ApexClass": ["Invoice"]}
    assert deployment.ignore_warnings
    assert deployment.warnings == [
        {
            "type": "ApexClass",
            "name": "Invoice",
            "file": "destructiveChanges.xml",
            "problem": "No ApexClass named: Invoice found",
        }
    ]
    page = client_for("developer").get(deployment.get_absolute_url()).content.decode()
    assert "No ApexClass named: Invoice found" in page
    assert "Deployed despite these (ignoreWarnings was on)." in page
    promotion_page = client_for("developer").get(promotion.get_absolute_url()).content.decode()
    assert "Warning (ignored)" in promotion_page


def test_with_warnings_never_ignored_the_deletion_fails_with_its_reason(
    org, git_pipeline, developer, client_for
):
    alice = git_pipeline["alice"]
    alice.ignore_warnings = IgnoreWarnings.NEVER
    alice.save(update_fields=["ignore_warnings"])

    promotion, deployment = promote(
        feature(git_pipeline, developer, "RM-2", DELETE_INVOICE), alice, developer
    )

    assert promotion.status == PromotionStatus.FAILED
    assert deployment.status == DeploymentStatus.FAILED and not deployment.ignore_warnings
    assert deployment.failure_reason == "1 warning treated as errors (ignoreWarnings is off)."
    assert promotion.failure_reason.startswith(
        "The deployment to Dev Alice's org did not succeed: 1 warning treated as errors"
    )
    page = client_for("developer").get(deployment.get_absolute_url()).content.decode()
    assert "ignoreWarnings was off: these failed the deployment." in page


def test_an_additive_change_keeps_warnings_by_default(org, git_pipeline, developer):
    service = {
        f"{CLASSES}Tax.cls": b"public class Tax {}\n",
        f"{CLASSES}Tax.cls-meta.xml": APEX_META,
    }
    promotion, deployment = promote(
        feature(git_pipeline, developer, "RM-3", service), git_pipeline["alice"], developer
    )

    assert promotion.status == PromotionStatus.SUCCEEDED
    assert not deployment.ignore_warnings  # nothing deleted: warnings fail it
    assert deployment.coverage == []  # no tests ran (NoTestRun)


def test_a_coverage_failure_is_the_reason_on_both_pages(
    org, git_pipeline, developer, client_for, release_manager
):
    org.org.is_sandbox = False  # the production org enforces 75 %
    org.knobs.coverage = {"Tax": (40, 30)}
    prod = git_pipeline["prod"]
    assert prod.test_level == "RunLocalTests"  # the production default
    service = {
        f"{CLASSES}Tax.cls": b"public class Tax {}\n",
        f"{CLASSES}Tax.cls-meta.xml": APEX_META,
        f"{CLASSES}TaxTest.cls": b"@isTest class TaxTest {}\n",
        f"{CLASSES}TaxTest.cls-meta.xml": APEX_META,
    }
    # A hotfix started from production enters it directly.
    made = feature(git_pipeline, developer, "RM-4", service, started_from="prod")
    target_promotion = request_promotion(features=[made], target=prod, user=release_manager)

    engine.run_promotion(target_promotion.pk, "w")

    target_promotion.refresh_from_db()
    deployment = Deployment.objects.get(promotion=target_promotion)
    assert deployment.status == DeploymentStatus.FAILED
    assert (deployment.component_errors, deployment.test_errors) == (0, 0)
    assert deployment.failure_reason.startswith(
        "Code coverage below Salesforce's requirement (Tax: 25% (10/40 lines)): "
    )
    assert "Average test coverage across all Apex Classes and Triggers is 25%" in (
        deployment.failure_reason
    )
    assert target_promotion.failure_reason.startswith(
        "The deployment to Production's org did not succeed: Code coverage below"
    )
    assert deployment.coverage == [
        {
            "name": "Tax",
            "kind": "Class",
            "locations": 40,
            "not_covered": 30,
            "percent": 25,
            "low": True,
        }
    ]
    page = client_for("developer").get(deployment.get_absolute_url()).content.decode()
    assert "Code coverage warnings" in page and "below 75%" in page
    promotion_page = client_for("developer").get(target_promotion.get_absolute_url())
    text = promotion_page.content.decode()
    assert "Code coverage of the Apex deployed" in text and "Class Tax" in text
    assert "Code coverage below Salesforce&#x27;s requirement" in text


def test_a_deployment_without_tests_to_production_is_refused_before_the_org_is_asked(
    org, git_pipeline, developer
):
    from instances.deployments import runner

    prod = git_pipeline["prod"]
    connection = prod.org_connection
    with storage.open_repo(git_pipeline["repo"].local_path) as repo:
        head = storage.hex_id(storage.branch_head(repo, "main"))
        deployment = runner.create(
            instance=prod,
            connection=connection,
            kind=DeploymentKind.DEPLOY,
            from_commit="",
            to_commit=head,
            test_level="NoTestRun",  # as an old row or a script might hold
        )
        with pytest.raises(runner.DeploymentFailed, match="production org refuses NoTestRun"):
            runner.run(deployment, repo)

    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.ERRORED
    assert org.calls("deploy") == []
