"""Login throttling: repeated failures lock a username, or an address, out for a while."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counts(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_FAILURE_ADDRESS_LIMIT = 6
    settings.LOGIN_LOCKOUT_SECONDS = 600
    cache.clear()
    yield
    cache.clear()


def login(username, password, address="10.0.0.1", url=None, **headers):
    client = Client(REMOTE_ADDR=address, **headers)
    return client.post(
        url or reverse("login"), {"username": username, "password": password, "next": "/"}
    )


def test_it_locks_a_username_out_after_repeated_failures(release_manager):
    for _ in range(3):
        response = login(release_manager.username, "wrong")
        assert "Please enter a correct username and password" in response.content.decode()
    response = login(release_manager.username, PASSWORD, address="10.0.0.2")
    assert response.status_code == 200  # the right password, from elsewhere: still refused
    body = response.content.decode()
    assert "Too many failed logins" in body and "10 more minutes" in body
    assert "_auth_user_id" not in response.client.session


def test_it_locks_an_address_out_whatever_the_username(release_manager, developer):
    for n in range(6):
        login(f"nobody-{n}", "wrong", address="10.9.9.9")
    assert (
        "Too many failed logins" in login(developer.username, PASSWORD, "10.9.9.9").content.decode()
    )
    assert login(developer.username, PASSWORD, address="10.9.9.8").status_code == 302


def test_it_lets_the_user_in_again_once_the_window_has_passed(release_manager):
    # The clock stands still but for the jump, so a slow machine cannot end the window early.
    with time_machine.travel(datetime.now(tz=UTC), tick=False) as clock:
        for _ in range(3):
            login(release_manager.username, "wrong")
        clock.shift(599)
        assert login(release_manager.username, PASSWORD).status_code == 200
        clock.shift(2)
        assert login(release_manager.username, PASSWORD).status_code == 302


def test_a_successful_login_clears_the_username_count(release_manager):
    for _ in range(2):
        login(release_manager.username, "wrong")
    assert login(release_manager.username, PASSWORD).status_code == 302
    for _ in range(2):
        login(release_manager.username, "wrong")
    assert login(release_manager.username, PASSWORD).status_code == 302


def test_it_throttles_the_admin_login_too(admin_user):
    url = reverse("admin:login")
    for _ in range(3):
        login(admin_user.username, "wrong", url=url)
    response = login(admin_user.username, PASSWORD, url=url)
    assert response.status_code == 200 and "Too many failed logins" in response.content.decode()


def test_it_counts_the_forwarded_address_only_behind_a_proxy(release_manager, settings):
    for n in range(6):  # a client forging X-Forwarded-For does not dodge the address limit
        login(f"nobody-{n}", "wrong", address="10.1.1.1", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    assert "Too many" in login(release_manager.username, PASSWORD, "10.1.1.1").content.decode()
    settings.BEHIND_PROXY = True
    cache.clear()
    for n in range(6):  # behind the proxy: the address the proxy saw, the last hop
        login(
            f"nobody-{n}",
            "wrong",
            address="10.1.1.1",
            HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7",
        )
    forwarded = {"HTTP_X_FORWARDED_FOR": "198.51.100.8"}
    assert login(release_manager.username, PASSWORD, "10.1.1.1", **forwarded).status_code == 302
