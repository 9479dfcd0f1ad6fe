"""A rollback deploys the inverse to the target's org (the Salesforce stand-in): the changed
class back to its previous content, the added class in destructiveChanges.xml."""

import io
import zipfile

import pytest

from branching.git import storage
from instances.models import Deployment, DeploymentStatus, PromotionStatus
from instances.promotions.rules import request_rollback
from tests.instances.promotions.helpers import (
    APEX_META,
    INVOICE,
    TAX,
    commit_to,
    promote,
    run,
    start,
)
from tests.salesforce_standin.connections import password_connection

pytest_plugins = ["tests.salesforce_standin.plugin"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def org(salesforce, settings, git_pipeline):
    settings.SALESFORCE_CA_BUNDLE = salesforce.ca_path
    settings.DEPLOY_POLL_SECONDS = 0.01
    settings.ARTIFACTS_DIR = settings.REPOSITORIES_DIR.parent / "artifacts"
    settings.DATA_DIR = settings.REPOSITORIES_DIR.parent
    password_connection(salesforce, instance=git_pipeline["alice"]).save()
    return salesforce


def test_the_rollback_deploys_the_previous_content_and_deletes_what_was_added(
    org, git_pipeline, developer, release_manager
):
    alice = git_pipeline["alice"]
    feature = start(git_pipeline, "RM-1", "Invoice totals", developer)
    commit_to(
        feature,
        {
            INVOICE: b"public class Invoice {\n  Decimal total;\n}\n",
            TAX: b"public class Tax {\n}\n",
            TAX + "-meta.xml": APEX_META,
        },
    )
    promotion = promote([feature], alice, developer)  # entering Dev Alice, deployed there
    rollback = run(request_rollback(promotion, release_manager, acknowledge=True))
    assert rollback.status == PromotionStatus.SUCCEEDED, rollback.failure_reason

    first, second = org.deployments.values()
    assert not second.check_only
    with zipfile.ZipFile(io.BytesIO(second.zip_bytes)) as archive:
        names = set(archive.namelist())
        manifest = archive.read("package.xml").decode()
        destructive = archive.read("destructiveChanges.xml").decode()
        invoice = archive.read("classes/Invoice.cls")
    assert "<members>Invoice</members>" in manifest and "Tax" not in manifest
    assert "<members>Tax</members>" in destructive and "<name>ApexClass</name>" in destructive
    assert "classes/Tax.cls" not in names
    assert invoice == b"public class Invoice {\n}\n"
    deployment = Deployment.objects.get(promotion=rollback)
    assert deployment.status == DeploymentStatus.SUCCEEDED
    assert deployment.from_commit == promotion.target_head_after
    assert deployment.to_commit == rollback.target_head_after
    with storage.open_repo(alice.repository.local_path) as repo:
        assert storage.read_blob(repo, storage.branch_head(repo, alice.branch), TAX) is None
