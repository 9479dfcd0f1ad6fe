"""Org connections reach Salesforce's own hosts only, with timeouts: through the org connection
page and the Test connection task, against the Salesforce stand-in and a server that never
answers."""

import time

import pytest
from django.urls import reverse

from instances.environments import tasks
from instances.models import AuthMethod, OrgConnection
from tests.gitservers import silent_server
from tests.salesforce_standin.connections import password_connection

pytest_plugins = ["tests.salesforce_standin.plugin"]
pytestmark = pytest.mark.django_db


def connect(client, instance, login_url):
    return client.post(
        reverse("org_connection_create", args=[instance.pk]),
        {
            "auth_method": AuthMethod.PASSWORD,
            "login_url": login_url,
            "username": "deploy@acme.com",
            "password": "hunter2",
        },
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://login.salesforce.com",
        "https://test.salesforce.com",
        "https://acme--uat.sandbox.my.salesforce.com",
        "https://acme.my.salesforce.mil",
        "https://acme.lightning.force.com",
        "https://acme.cloudforce.com",
        "https://acme.my.salesforce-setup.com",
    ],
)
def test_salesforce_hosts_are_accepted(client_for, pipeline, url):
    assert connect(client_for("release_manager"), pipeline["qa"], url).status_code == 302


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://evil.example.com", "not a Salesforce host"),
        ("https://salesforce.com.evil.example", "not a Salesforce host"),
        ("https://evilsalesforce.com", "not a Salesforce host"),
        ("https://127.0.0.1:8443", "not a Salesforce host"),
        ("https://169.254.169.254", "not a Salesforce host"),
        ("https://user:pw@login.salesforce.com", "not in the URL"),
    ],
)
def test_other_hosts_are_refused(client_for, pipeline, url, message):
    response = connect(client_for("release_manager"), pipeline["qa"], url)
    assert response.status_code == 200
    assert any(message in e for e in response.context["form"].errors["login_url"])
    assert not OrgConnection.objects.exists()


def test_no_request_leaves_for_a_host_that_is_not_allowed(salesforce, settings, pipeline):
    connection = password_connection(salesforce, instance=pipeline["qa"])
    connection.save()
    settings.SALESFORCE_CA_BUNDLE = salesforce.ca_path
    settings.SALESFORCE_EXTRA_HOSTS = []  # the stand-in is no longer an allowed host
    assert tasks.test_org_connection(connection.pk) == "failed"
    connection.refresh_from_db()
    assert "not a Salesforce host" in connection.last_check_error
    assert salesforce.requests == []  # the password never left


def test_the_extra_hosts_setting_lets_the_stand_in_in(salesforce, settings, pipeline):
    connection = password_connection(salesforce, instance=pipeline["qa"])
    connection.save()
    settings.SALESFORCE_CA_BUNDLE = salesforce.ca_path
    assert tasks.test_org_connection(connection.pk) == "ok"


def test_an_org_host_that_never_answers_times_out(settings, pipeline):
    settings.SALESFORCE_EXTRA_HOSTS = ["127.0.0.1"]
    settings.NETWORK_CONNECT_TIMEOUT = 1
    settings.NETWORK_READ_TIMEOUT = 1
    with silent_server() as port:
        connection = OrgConnection.objects.create(
            instance=pipeline["qa"],
            auth_method=AuthMethod.PASSWORD,
            login_url=f"https://127.0.0.1:{port}",
            username="u@example.com",
            password="pw",
        )
        started = time.monotonic()
        assert tasks.test_org_connection(connection.pk) == "failed"
        assert time.monotonic() - started < 10
    connection.refresh_from_db()
    assert connection.last_check_error
