"""The Django admin covers every model, with list columns, search, filters and inlines."""

import pytest
from django.contrib import admin
from django.urls import reverse

from branching.models import Collection, Feature, Repository
from instances.models import (
    AuthMethod,
    Deployment,
    FeaturePresence,
    Instance,
    OrgConnection,
    Promotion,
)
from releasemgr.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "model",
    [
        Repository,
        Instance,
        OrgConnection,
        AuditEvent,
        Feature,
        Collection,
        Promotion,
        FeaturePresence,
        Deployment,
    ],
)
def test_it_registers_every_model(model):
    assert admin.site.is_registered(model)


def test_it_lists_searches_and_filters(client_for, pipeline):
    client = client_for("admin")
    for model in (
        Repository,
        Instance,
        OrgConnection,
        AuditEvent,
        Feature,
        Collection,
        Promotion,
        FeaturePresence,
        Deployment,
    ):
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        assert client.get(url).status_code == 200
        assert client.get(url, {"q": "qa"}).status_code == 200
    url = reverse("admin:instances_instance_changelist")
    response = client.get(url, {"purpose__exact": "development"})
    assert response.context["cl"].result_count == 3


def test_it_shows_children_and_org_connections_inline(client_for, pipeline):
    OrgConnection.objects.create(
        instance=pipeline["integration"],
        auth_method=AuthMethod.ACCESS_TOKEN,
        instance_url="https://acme.my.salesforce.com",
        access_token="00Dxx!tokenvalue",
    )
    body = (
        client_for("admin")
        .get(reverse("admin:instances_instance_change", args=[pipeline["integration"].pk]))
        .content.decode()
    )
    assert "Dev Alice" in body and "Scratch CI" in body
    assert "https://acme.my.salesforce.com" in body
    assert "00Dxx!tokenvalue" not in body


def test_it_validates_the_hierarchy_in_the_admin_too(client_for, pipeline):
    prod = pipeline["prod"]
    response = client_for("admin").post(
        reverse("admin:instances_instance_change", args=[prod.pk]),
        {
            "name": prod.name,
            "purpose": prod.purpose,
            "org_type": prod.org_type,
            "repository": prod.repository_id,
            "branch": prod.branch,
            "parent": pipeline["qa"].pk,
            "description": "",
            "org_connections-TOTAL_FORMS": "0",
            "org_connections-INITIAL_FORMS": "0",
            "children-TOTAL_FORMS": "0",
            "children-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "A production instance cannot have a parent." in response.content.decode()
    prod.refresh_from_db()
    assert prod.parent is None


def test_it_keeps_the_admin_from_developers(client_for):
    assert client_for("developer").get(reverse("admin:index")).status_code == 302
