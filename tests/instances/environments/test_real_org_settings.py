"""What real orgs impose on an instance's settings and connection: production's test levels,
ignoreWarnings per instance, SOAP login()'s retirement, the client credentials flow."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from instances.models import AuthMethod, IgnoreWarnings, Instance, OrgConnection, OrgType, Purpose
from tests.conftest import make_instance

pytestmark = pytest.mark.django_db


def instance_data(instance: Instance, **changes: object) -> dict[str, object]:
    data = {
        "name": instance.name,
        "purpose": instance.purpose,
        "org_type": instance.org_type,
        "repository": instance.repository_id,
        "branch": instance.branch,
        "parent": instance.parent_id or "",
        "description": instance.description,
        "test_level": instance.test_level,
        "ignore_warnings": instance.ignore_warnings,
    }
    data.update(changes)
    return data


# --------------------------------------------------------------------------- test levels


def test_a_new_production_instance_runs_the_local_tests(pipeline):
    assert pipeline["prod"].test_level == "RunLocalTests"
    assert pipeline["uat"].test_level == "NoTestRun"
    assert pipeline["prod"].allowed_test_levels == (
        "RunLocalTests",
        "RunSpecifiedTests",
        "RunAllTestsInOrg",
    )


def test_a_production_instance_cannot_be_set_to_run_no_tests(pipeline):
    prod = pipeline["prod"]
    prod.test_level = "NoTestRun"

    with pytest.raises(ValidationError) as caught:
        prod.full_clean()

    assert "Production orgs refuse deployments without tests" in str(caught.value)


def test_the_form_refuses_no_tests_for_production(client_for, pipeline):
    prod = pipeline["prod"]
    response = client_for("release_manager").post(
        reverse("instance_edit", args=[prod.pk]), instance_data(prod, test_level="NoTestRun")
    )

    assert response.status_code == 200
    assert "Production orgs refuse deployments without tests" in str(
        response.context["form"].errors["test_level"]
    )
    prod.refresh_from_db()
    assert prod.test_level == "RunLocalTests"


def test_turning_a_sandbox_into_production_needs_a_test_level(client_for, pipeline):
    uat = make_instance(pipeline["repo"], name="Lone", branch="lone")
    response = client_for("release_manager").post(
        reverse("instance_edit", args=[uat.pk]),
        instance_data(uat, org_type=OrgType.PRODUCTION, purpose=Purpose.PRODUCTION),
    )

    assert response.status_code == 200
    assert "test_level" in response.context["form"].errors
    response = client_for("release_manager").post(
        reverse("instance_edit", args=[uat.pk]),
        instance_data(
            uat,
            org_type=OrgType.PRODUCTION,
            purpose=Purpose.PRODUCTION,
            test_level="RunAllTestsInOrg",
            ignore_warnings=IgnoreWarnings.NEVER,
        ),
    )
    assert response.status_code == 302
    uat.refresh_from_db()
    assert (uat.test_level, uat.ignore_warnings) == ("RunAllTestsInOrg", "never")


def test_the_deploy_form_does_not_offer_no_tests_for_production(client_for, pipeline):
    OrgConnection.objects.create(
        instance=pipeline["prod"],
        auth_method=AuthMethod.JWT,
        username="ci@acme.com",
        consumer_key="3MVG9x",
        private_key="-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----",
    )
    page = client_for("release_manager").get(
        reverse("deployment_create", args=[pipeline["prod"].pk])
    )

    levels = [value for value, _ in page.context["form"].fields["test_level"].choices]
    assert levels == ["RunSpecifiedTests", "RunLocalTests", "RunAllTestsInOrg"]


@pytest.mark.parametrize(
    ("setting", "deletes", "ignored"),
    [
        ("destructive", True, True),
        ("destructive", False, False),
        ("always", False, True),
        ("never", True, False),
    ],
)
def test_ignore_warnings_per_instance(pipeline, setting, deletes, ignored):
    instance = pipeline["qa"]
    assert instance.ignore_warnings == IgnoreWarnings.DESTRUCTIVE  # the default
    instance.ignore_warnings = setting
    assert instance.ignores_warnings(deletes=deletes) is ignored


# --------------------------------------------------------------------------- SOAP login()


def test_every_instance_on_password_login_is_warned(client_for, pipeline):
    OrgConnection.objects.create(
        instance=pipeline["uat"],
        auth_method=AuthMethod.PASSWORD,
        login_url="https://test.salesforce.com",
        username="deploy@acme.com.uat",
        password="pw-123456",
    )
    OrgConnection.objects.create(
        instance=pipeline["qa"],
        auth_method=AuthMethod.JWT,
        username="ci@acme.com",
        consumer_key="3MVG9x",
        private_key="-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----",
    )
    client = client_for("developer")

    uat = client.get(pipeline["uat"].get_absolute_url()).content.decode()
    qa = client.get(pipeline["qa"].get_absolute_url()).content.decode()
    listing = client.get(reverse("instance_list")).content.decode()

    assert 'id="soap-login-warning"' in uat and "Summer &#x27;27" in uat
    assert "JWT bearer" in uat and "client credentials" in uat
    assert 'id="soap-login-warning"' not in qa
    assert listing.count("password login retiring") == 1


def test_the_connection_form_leads_to_the_flows_that_keep_working(client_for, pipeline):
    page = client_for("release_manager").get(
        reverse("org_connection_create", args=[pipeline["qa"].pk])
    )
    text = page.content.decode()

    assert page.context["form"].fields["auth_method"].initial == AuthMethod.JWT
    assert 'id="auth-method-advice"' in text
    assert "sf org login web" in text and "client credentials" in text
    assert "retires in its Summer &#x27;27 release" in text


# --------------------------------------------------------------------------- client credentials


def connect(client, instance, **fields):
    data = {
        "auth_method": AuthMethod.CLIENT_CREDENTIALS,
        "login_url": "https://acme.my.salesforce.com",
        "consumer_key": "3MVG9client",
        "client_secret": "S3cret-client-value",
    }
    data.update(fields)
    return client.post(reverse("org_connection_create", args=[instance.pk]), data)


def test_client_credentials_are_stored_with_a_write_only_secret(client_for, pipeline):
    client = client_for("release_manager")
    response = connect(client, pipeline["qa"])

    assert response.status_code == 302
    connection = OrgConnection.objects.get(instance=pipeline["qa"])
    assert connection.client_secret.reveal() == "S3cret-client-value"
    edit = client.get(reverse("org_connection_edit", args=[connection.pk])).content.decode()
    assert "S3cret-client-value" not in edit


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"client_secret": ""}, "client_secret", "consumer secret is required"),
        ({"consumer_key": ""}, "consumer_key", "consumer key is required"),
        (
            {"login_url": "https://login.salesforce.com"},
            "login_url",
            "works only at the org's My Domain",
        ),
    ],
)
def test_client_credentials_need_a_key_a_secret_and_a_my_domain(
    client_for, pipeline, fields, field, message
):
    response = connect(client_for("release_manager"), pipeline["qa"], **fields)

    assert response.status_code == 200
    assert any(message in e for e in response.context["form"].errors[field])
    assert not OrgConnection.objects.filter(instance=pipeline["qa"]).exists()
