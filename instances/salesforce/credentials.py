"""What the client needs to log in to an org: plain values, never a database row.

`instances.models.OrgConnection.credentials()` builds these from a stored connection; tests
and scripts build them directly. The auth methods and org types are the client's vocabulary,
which the models use for their choices.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from releasemgr.crypto import Secret


class AuthMethod(models.TextChoices):
    """The flows that outlive SOAP login() first; password login last (docs/salesforce.md)."""

    JWT = "jwt", "OAuth 2.0 JWT bearer (connected app)"
    SFDX_URL = "sfdx_url", "SFDX auth URL (refresh token)"
    CLIENT_CREDENTIALS = "client_credentials", "OAuth 2.0 client credentials (connected app)"
    ACCESS_TOKEN = "access_token", "Access token and instance URL"
    PASSWORD = "password", "Username, password and security token (SOAP login, retiring)"


class OrgType(models.TextChoices):
    PRODUCTION = "production", "Production"
    SANDBOX = "sandbox", "Sandbox"
    SCRATCH = "scratch", "Scratch org"
    DEVELOPER = "developer", "Developer edition"


@dataclass(frozen=True)
class Credentials:
    """One way into one org. Secrets are `Secret`s (or plain text), masked when printed."""

    auth_method: str
    login_url: str = "https://login.salesforce.com"
    instance_url: str = ""
    username: str = ""
    consumer_key: str = ""
    password: Secret | str = ""
    security_token: Secret | str = ""
    private_key: Secret | str = ""
    client_secret: Secret | str = ""
    sfdx_auth_url: Secret | str = ""
    access_token: Secret | str = ""

    def __repr__(self) -> str:
        return f"Credentials({self.auth_method}, {self.username or self.login_url})"
