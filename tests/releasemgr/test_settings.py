"""The environment variables that configure releasemgr, read strictly."""

import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from releasemgr import env


def test_it_reads_booleans_strictly(monkeypatch):
    monkeypatch.setenv("X_FLAG", "yes")
    assert env.env_bool("X_FLAG") is True
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG must be one of"):
        env.env_bool("X_FLAG")


def test_it_reads_whole_numbers_and_lists(monkeypatch):
    monkeypatch.setenv("X_INT", "12")
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert env.env_int("X_INT", 1) == 12
    assert env.env_list("X_LIST", []) == ["a", "b", "c"]
    monkeypatch.setenv("X_INT", "twelve")
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        env.env_int("X_INT", 1)


def _settings_in_subprocess(environment: dict[str, str]) -> subprocess.CompletedProcess:
    code = "import releasemgr.settings as s; print(s.DATABASES['default']['ENGINE'])"
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": "."}
    return subprocess.run(
        [sys.executable, "-c", code], env={**base, **environment}, capture_output=True, text=True
    )


def test_it_requires_a_secret_key_when_debug_is_off(tmp_path):
    result = _settings_in_subprocess({"DATA_DIR": str(tmp_path)})
    assert result.returncode != 0 and "SECRET_KEY is required" in result.stderr


def test_it_requires_an_encryption_key_when_debug_is_off(tmp_path):
    result = _settings_in_subprocess({"DATA_DIR": str(tmp_path), "SECRET_KEY": "x"})
    assert result.returncode != 0 and "ENCRYPTION_KEYS is required" in result.stderr


def test_it_uses_postgresql_from_database_url(tmp_path):
    result = _settings_in_subprocess(
        {
            "DEBUG": "1",
            "DATA_DIR": str(tmp_path),
            "DATABASE_URL": "postgres://u@127.0.0.1:5432/releasemgr",
        }
    )
    assert result.stdout.strip() == "django.db.backends.postgresql", result.stderr


def test_it_defaults_to_sqlite_in_wal_mode_with_immediate_transactions(tmp_path):
    result = _settings_in_subprocess({"DEBUG": "1", "DATA_DIR": str(tmp_path)})
    assert result.stdout.strip() == "django.db.backends.sqlite3", result.stderr
    from django.conf import settings

    options = settings.DATABASES["default"].get("OPTIONS", {})
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        assert options["transaction_mode"] == "IMMEDIATE"
        assert "journal_mode=WAL" in options["init_command"]
