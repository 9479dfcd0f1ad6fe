"""A standalone deploy cannot route around an approval-gated instance, and bad revisions are
form errors — through the deploy page, against the Salesforce stand-in."""

import pytest
from django.urls import reverse

from branching.git import storage
from instances.models import Deployment
from tests.salesforce_standin.connections import password_connection

pytest_plugins = ["tests.salesforce_standin.plugin"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def prod(salesforce, settings, git_pipeline):
    settings.SALESFORCE_CA_BUNDLE = salesforce.ca_path
    settings.DATA_DIR = settings.REPOSITORIES_DIR.parent
    settings.ARTIFACTS_DIR = settings.DATA_DIR / "artifacts"
    instance = git_pipeline["prod"]
    instance.requires_approval = True
    instance.save()
    password_connection(salesforce, instance=instance).save()
    with storage.open_repo(git_pipeline["repo"].local_path) as repo:
        unreviewed = storage.commit_changes(
            repo,
            parent=storage.branch_head(repo, "main"),
            changes={"force-app/main/default/classes/Backdoor.cls": b"public class Backdoor {}\n"},
            message="never promoted",
            author="Mallory <m@example.com>",
        )
        storage.create_branch(repo, "feature/RM-66-backdoor", unreviewed)
    return instance


def deploy(client, instance, revision):
    return client.post(
        reverse("deployment_create", args=[instance.pk]),
        # RunLocalTests: a production org refuses NoTestRun, and the form does too.
        {"revision": revision, "kind": "deploy", "test_level": "RunLocalTests"},
    )


def test_an_unpromoted_commit_cannot_be_deployed_to_an_approval_gated_org(client_for, prod):
    response = deploy(client_for("release_manager"), prod, "feature/RM-66-backdoor")
    assert response.status_code == 200
    errors = " ".join(response.context["form"].non_field_errors())
    assert "requires approval" in errors and "Promote the change" in errors
    assert not Deployment.objects.exists()


def test_a_commit_the_gated_branch_holds_can_be_redeployed(client_for, prod):
    response = deploy(client_for("release_manager"), prod, "main")
    deployment = Deployment.objects.get()
    assert response["Location"] == deployment.get_absolute_url()


def test_an_ungated_instance_takes_any_commit(client_for, prod, git_pipeline, salesforce):
    qa = git_pipeline["qa"]
    password_connection(salesforce, instance=qa).save()
    deploy(client_for("release_manager"), qa, "feature/RM-66-backdoor")
    assert Deployment.objects.get().instance == qa


@pytest.mark.parametrize("revision", ["main~" + "9" * 5000, "main^" + "9" * 30, "main:x"])
def test_revision_arithmetic_is_bounded_and_a_form_error(client_for, prod, revision):
    response = deploy(client_for("release_manager"), prod, revision)
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not Deployment.objects.exists()
