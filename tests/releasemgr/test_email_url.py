"""EMAIL_URL: Django's email settings from one URL, read strictly."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from releasemgr.env import EmailSettings, env_email

SMTP = "django.core.mail.backends.smtp.EmailBackend"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "smtp+tls://mailer:p%40ss@mail.example.com:2587?timeout=5&from=rm@example.com",
            EmailSettings(
                SMTP, "mail.example.com", 2587, "mailer", "p@ss", True, False, 5.0, "rm@example.com"
            ),
        ),
        ("smtps://mail.example.com", EmailSettings(SMTP, "mail.example.com", 465, use_ssl=True)),
        ("smtp://127.0.0.1", EmailSettings(SMTP, "127.0.0.1", 25)),
        ("console:", EmailSettings("django.core.mail.backends.console.EmailBackend")),
        ("locmem:", EmailSettings("django.core.mail.backends.locmem.EmailBackend")),
    ],
)
def test_it_reads_mail_urls(monkeypatch, url, expected):
    monkeypatch.setenv("X_EMAIL_URL", url)
    assert env_email("X_EMAIL_URL", "console:") == expected


def test_the_default_prints_mail_to_the_log(monkeypatch):
    monkeypatch.delenv("X_EMAIL_URL", raising=False)
    assert env_email("X_EMAIL_URL", "console:").backend.endswith("console.EmailBackend")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mail://x", "must start with one of"),
        ("smtp://", "names no mail server host"),
        ("smtp://mail.example.com:port", "malformed port or timeout"),
        ("smtp://mail.example.com?timeout=soon", "malformed port or timeout"),
    ],
)
def test_it_refuses_malformed_mail_urls(monkeypatch, url, message):
    monkeypatch.setenv("X_EMAIL_URL", url)
    with pytest.raises(ImproperlyConfigured, match=message):
        env_email("X_EMAIL_URL", "console:")
