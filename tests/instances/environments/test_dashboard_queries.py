"""The dashboard runs as many SQL queries for a pipeline of hundreds of instances as for ten."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from instances.models import Instance, OrgType, Purpose
from tests.conftest import make_instance, make_repository

pytestmark = pytest.mark.django_db


def add_pipeline(size: int, tag: str) -> None:
    """`size` instances: production ← UAT ← QA ← 3 integrations ← developer and scratch orgs,
    with a long-term project on the same storage promoting into UAT (a cross-repository parent).
    """
    repo = make_repository(name=f"Acme {tag}", storage=f"acme-{tag}")
    long_term = make_repository(
        name=f"Acme {tag} — Release 2027-Q1",
        storage=f"acme-{tag}",
        main_branch="release/2027-q1",
        is_long_term=True,
    )
    prod = make_instance(
        repo, purpose=Purpose.PRODUCTION, org_type=OrgType.PRODUCTION, branch="main"
    )
    uat = make_instance(repo, purpose=Purpose.UAT, branch="uat", parent=prod)
    qa = make_instance(repo, purpose=Purpose.QA, branch="qa", parent=uat)
    staging = make_instance(long_term, purpose=Purpose.STAGING, branch="q1/staging", parent=uat)
    integrations = [
        make_instance(repo, purpose=Purpose.INTEGRATION, branch=f"integration/{n}", parent=qa)
        for n in range(3)
    ]
    for n in range(size - 7):
        in_long_term = n % 5 == 0
        make_instance(
            long_term if in_long_term else repo,
            org_type=OrgType.SCRATCH if n % 3 == 0 else OrgType.SANDBOX,
            branch=f"dev/{n}",
            parent=staging if in_long_term else integrations[n % 3],
        )


def dashboard_queries(client: Client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/")
    assert response.status_code == 200
    # Every instance is on the page (a node of the diagram, or a row of the tree without dot).
    page = response.content.decode()
    for instance in Instance.objects.all():
        assert instance.get_absolute_url() in page
    return len(queries)


def test_it_runs_as_many_queries_for_300_instances_as_for_10(release_manager):
    client = Client()
    client.force_login(release_manager)

    add_pipeline(10, "small")
    assert Instance.objects.count() == 10
    small = dashboard_queries(client)

    add_pipeline(290, "large")
    assert Instance.objects.count() == 300
    large = dashboard_queries(client)

    assert large == small
