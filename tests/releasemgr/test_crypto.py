"""Secrets at rest: encrypted with rotatable keys, masked everywhere they could be printed."""

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from releasemgr import crypto
from releasemgr.crypto import MASK, Secret


@pytest.fixture(autouse=True)
def fresh_keys():
    crypto._fernet.cache_clear()
    yield
    crypto._fernet.cache_clear()


def test_it_round_trips_and_never_stores_plain_text():
    token = crypto.encrypt("s3cret")
    assert "s3cret" not in token
    assert crypto.decrypt(token) == "s3cret"


def test_it_decrypts_with_an_older_key_after_rotation(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [old]
    token = crypto.encrypt("s3cret")
    crypto._fernet.cache_clear()
    settings.ENCRYPTION_KEYS = [new, old]
    assert crypto.decrypt(token) == "s3cret"
    crypto._fernet.cache_clear()
    settings.ENCRYPTION_KEYS = [new]
    with pytest.raises(ImproperlyConfigured, match="cannot be decrypted"):
        crypto.decrypt(token)


def test_it_generates_a_key_file_in_development(settings, tmp_path):
    settings.ENCRYPTION_KEYS = []
    settings.DEBUG = True
    settings.ENCRYPTION_KEY_FILE = tmp_path / "encryption.key"
    token = crypto.encrypt("x")
    assert settings.ENCRYPTION_KEY_FILE.stat().st_mode & 0o777 == 0o600
    crypto._fernet.cache_clear()
    assert crypto.decrypt(token) == "x"  # the same key is read back


def test_it_refuses_to_generate_a_key_in_production(settings, tmp_path):
    settings.ENCRYPTION_KEYS = []
    settings.DEBUG = False
    settings.ENCRYPTION_KEY_FILE = tmp_path / "missing.key"
    with pytest.raises(ImproperlyConfigured, match="ENCRYPTION_KEYS is required"):
        crypto.encrypt("x")


def test_it_masks_a_secret_wherever_it_is_printed():
    secret = Secret("tok")
    assert str(secret) == MASK and repr(secret) == MASK and f"{secret}" == MASK
    assert str(Secret("")) == ""
    assert secret.reveal() == "tok"
