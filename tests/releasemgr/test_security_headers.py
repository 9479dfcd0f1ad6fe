"""Security headers: a Content-Security-Policy with no inline script, HTTPS when DEBUG is off,
the proxy header only when a setting says a proxy is in front, `check --deploy` clean."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]
FERNET = "x5Xh0JqfYfJ2zY1ywZ9bqC3mT7uWl0xk3n2u6l4q2mA="

_SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
_HANDLER = re.compile(r"""\son[a-z]+\s*=\s*["']""", re.IGNORECASE)


def inline_script_problems(html: str) -> list[str]:
    problems = []
    for match in _SCRIPT.finditer(html):
        attributes = match.group(1)
        if "src=" not in attributes and "application/json" not in attributes:
            problems.append(match.group(0))
    problems += [m.group(0) for m in _HANDLER.finditer(html)]
    problems += re.findall(r"javascript:|hx-on|hx-vals=['\"]js:", html, re.IGNORECASE)
    return problems


def test_no_template_has_inline_script_or_event_handlers():
    for template in (ROOT / "templates").rglob("*.html"):
        assert inline_script_problems(template.read_text()) == [], template


@pytest.mark.django_db
def test_every_page_sends_a_policy_that_allows_no_inline_script(client_for, pipeline):
    client = client_for("release_manager")
    urls = [
        "/",
        reverse("instance_list"),
        pipeline["uat"].get_absolute_url(),
        reverse("instance_create"),
        reverse("feature_list"),
        reverse("promotion_list"),
        reverse("repository_list"),
        pipeline["repo"].get_absolute_url(),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        policy = response["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
        assert directives["script-src"] == "'self'", policy
        assert directives["default-src"] == "'none'" and directives["style-src"] == "'self'"
        assert directives["frame-ancestors"] == "'none'" and "unsafe-eval" not in policy
        assert inline_script_problems(response.content.decode()) == [], url
    login = Client().get(reverse("login"))
    assert "script-src 'self'" in login["Content-Security-Policy"]


@pytest.mark.django_db
def test_the_admin_has_no_inline_script_either(client_for, pipeline):
    client = client_for("admin")
    for url in (
        reverse("admin:index"),
        reverse("admin:instances_instance_changelist"),
        reverse("admin:instances_instance_change", args=[pipeline["uat"].pk]),
        reverse("admin:instances_orgconnection_add"),
        reverse("admin:branching_repository_change", args=[pipeline["repo"].pk]),
        reverse("admin:releasemgr_auditevent_changelist"),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert inline_script_problems(response.content.decode()) == [], url


def test_htmx_is_told_to_need_neither_eval_nor_an_inline_style():
    base = (ROOT / "templates" / "base.html").read_text()
    assert '"includeIndicatorStyles": false' in base and '"allowEval": false' in base


def _settings(environment: dict[str, str], tmp_path: Path, code: str) -> str:
    base = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "DATA_DIR": str(tmp_path),
        "SECRET_KEY": "k" * 10 + "-production-like-key-0123456789-abcdefghijklmnop",
        "ENCRYPTION_KEYS": FERNET,
    }
    result = subprocess.run(
        [sys.executable, "-c", f"import releasemgr.settings as s; print(({code},))"],
        env={**base, **environment},
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_https_is_required_when_debug_is_off_and_configurable(tmp_path):
    code = "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE"
    assert _settings({}, tmp_path, code) == "(True, 31536000, True)"
    assert _settings({"DEBUG": "1"}, tmp_path, code) == "(False, 0, False)"
    off = {"SECURE_SSL_REDIRECT": "0", "SECURE_HSTS_SECONDS": "60"}
    assert _settings(off, tmp_path, code) == "(False, 60, True)"


def test_the_proxy_header_is_trusted_only_when_a_setting_says_so(tmp_path):
    code = "getattr(s, 'SECURE_PROXY_SSL_HEADER', None)"
    assert _settings({}, tmp_path, code) == "(None,)"
    expected = "(('HTTP_X_FORWARDED_PROTO', 'https'),)"
    assert _settings({"BEHIND_PROXY": "1"}, tmp_path, code) == expected


@pytest.mark.django_db
def test_it_redirects_plain_http_and_sends_hsts(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    client = Client()
    response = client.get("/instances/")
    assert response.status_code == 301 and response["Location"].startswith("https://")
    assert client.get("/healthz").status_code in (200, 503)  # load balancers probe over http
    secure = client.get(reverse("login"), secure=True)
    assert secure["Strict-Transport-Security"] == "max-age=3600"
    forged = client.get("/instances/", HTTP_X_FORWARDED_PROTO="https")
    assert forged.status_code == 301  # no proxy configured: the header is not believed


def production_environment() -> dict[str, str]:
    """The environment documented in docs/security.md, placeholders filled in."""
    text = (ROOT / "docs" / "security.md").read_text()
    block = text.split("```sh\n# production environment\n", 1)[1].split("```", 1)[0]
    env = {}
    for line in block.splitlines():
        if line and not line.startswith("#"):
            name, value = line.removeprefix("export ").split("=", 1)
            env[name] = value
    return env


def test_check_deploy_is_clean_with_the_documented_production_environment(tmp_path):
    env = production_environment()
    assert {"SECRET_KEY", "ENCRYPTION_KEYS", "ALLOWED_HOSTS"} <= env.keys()
    env.update(
        SECRET_KEY="a" * 5 + "kT9-x2qLw8vR4mZ7nB1cF6hJ3sD0gY5pU-real-looking-key",
        ENCRYPTION_KEYS=FERNET,
        DATA_DIR=str(tmp_path),
        DATABASE_URL="",
        PATH="/usr/bin:/bin",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
