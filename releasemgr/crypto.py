"""Secrets at rest: a model field that stores Fernet ciphertext and hands out `Secret` objects.

A `Secret` never prints its value (str, repr, templates, logs and admin all show a mask), so a
secret cannot leak by being rendered; code that really needs it calls `.reveal()`.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models.query_utils import DeferredAttribute

MASK = "••••••••"


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    keys = list(settings.ENCRYPTION_KEYS)
    if not keys:
        keys = [_key_from_file()]
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(f"ENCRYPTION_KEYS holds an invalid Fernet key: {exc}") from None


def _key_from_file() -> str:
    """Read the key generated on first run, generating it when missing: development only.

    Without DEBUG the file is never read, even when it exists: a key that came along with a
    development copy of DATA_DIR must not silently protect production secrets.
    """
    if not settings.DEBUG:
        raise ImproperlyConfigured("ENCRYPTION_KEYS is required when DEBUG is off.")
    path = settings.ENCRYPTION_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted with the configured ENCRYPTION_KEYS."
        ) from None


class Secret:
    """A decrypted secret that refuses to show itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __str__(self) -> str:
        return MASK if self._value else ""

    __repr__ = __str__


class _SecretAttribute(DeferredAttribute):
    """Wraps whatever is assigned in a `Secret`, so even an unsaved object never shows it."""

    def __set__(self, instance: models.Model, value: Any) -> None:
        instance.__dict__[self.field.attname] = self.field.to_python(value)


class EncryptedField(models.TextField):
    """Text stored encrypted; reads give `Secret`, writes accept `Secret` or `str`."""

    descriptor_class = _SecretAttribute

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Secret:
        return Secret(decrypt(value) if value else "")

    def to_python(self, value: Any) -> Secret:
        if isinstance(value, Secret):
            return value
        return Secret(value or "")

    def get_prep_value(self, value: Any) -> str:
        plain = value.reveal() if isinstance(value, Secret) else (value or "")
        return encrypt(plain) if plain else ""

    def value_to_string(self, obj: models.Model) -> str:
        # Serialisation (dumpdata) writes ciphertext, never the secret.
        return self.get_prep_value(self.value_from_object(obj))
