"""The pipeline's QA with an org connection to the Salesforce stand-in, and the settings a
deployment runs with in tests (fast polls, artifacts in the test's data folder). The modules
that use it load the stand-in's plugin."""

import pytest

from tests.salesforce_standin.connections import password_connection


@pytest.fixture
def qa_org(salesforce, settings, git_pipeline):
    settings.SALESFORCE_CA_BUNDLE = salesforce.ca_path
    settings.DEPLOY_POLL_SECONDS = 0.01
    settings.DATA_DIR = settings.REPOSITORIES_DIR.parent
    settings.ARTIFACTS_DIR = settings.DATA_DIR / "artifacts"
    connection = password_connection(salesforce, instance=git_pipeline["qa"])
    connection.save()
    return connection
