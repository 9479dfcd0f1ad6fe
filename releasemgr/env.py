"""Strict, typed readers for environment variables.

Every setting that varies between machines comes through here, so a typo in a value
fails loudly at start-up instead of silently falling back to a default.
"""

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}"
    )


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number; got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_path(name: str, default: Path) -> Path:
    raw = os.environ.get(name)
    return Path(raw).expanduser().resolve() if raw else default.resolve()


_EMAIL_BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "smtp+tls": "django.core.mail.backends.smtp.EmailBackend",
    "smtps": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
}


@dataclass(frozen=True)
class EmailSettings:
    backend: str
    host: str = "localhost"
    port: int = 25
    user: str = ""
    password: str = ""
    use_tls: bool = False
    use_ssl: bool = False
    timeout: float = 10.0
    sender: str = ""


def env_email(name: str, default: str) -> EmailSettings:
    """Django's email settings from one URL, e.g. `smtp+tls://user:pass@mail.example.com:587`.

    `smtp://` is plain SMTP, `smtp+tls://` upgrades with STARTTLS, `smtps://` is SMTP over TLS;
    `console:` prints messages to the log, `locmem:` keeps them in memory, `dummy:` drops them.
    Query parameters: `timeout` (seconds) and `from` (the sender address).
    """
    raw = os.environ.get(name) or default
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme not in _EMAIL_BACKENDS:
        raise ImproperlyConfigured(
            f"{name} must start with one of {', '.join(sorted(_EMAIL_BACKENDS))}; got {raw!r}"
        )
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    try:
        port = parts.port
        timeout = float(query["timeout"]) if "timeout" in query else 10.0
    except ValueError:
        raise ImproperlyConfigured(f"{name} has a malformed port or timeout; got {raw!r}") from None
    sender = query.get("from", "")
    if not scheme.startswith("smtp"):
        return EmailSettings(_EMAIL_BACKENDS[scheme], timeout=timeout, sender=sender)
    if not parts.hostname:
        raise ImproperlyConfigured(f"{name} names no mail server host; got {raw!r}")
    return EmailSettings(
        _EMAIL_BACKENDS[scheme],
        host=parts.hostname,
        port=port or {"smtp": 25, "smtp+tls": 587, "smtps": 465}[scheme],
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        use_tls=scheme == "smtp+tls",
        use_ssl=scheme == "smtps",
        timeout=timeout,
        sender=sender,
    )
