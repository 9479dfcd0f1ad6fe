"""OrgConnections (in memory, never saved) that point at a stand-in org, one per auth method."""

from __future__ import annotations

from typing import Any

from instances.models import AuthMethod, OrgConnection
from tests.salesforce_standin import SalesforceStandIn

USERNAME = "ci@acme.example"


def password_connection(standin: SalesforceStandIn, **fields: Any) -> OrgConnection:
    user = standin.users[USERNAME]
    values = {
        "auth_method": AuthMethod.PASSWORD,
        "login_url": standin.url,
        "username": user.username,
        "password": user.password,
        "security_token": user.security_token,
    }
    return OrgConnection(**(values | fields))


def jwt_connection(standin: SalesforceStandIn, **fields: Any) -> OrgConnection:
    values = {
        "auth_method": AuthMethod.JWT,
        "login_url": standin.url,
        "username": USERNAME,
        "consumer_key": standin.consumer_key,
        "private_key": standin.jwt_private_key,
    }
    return OrgConnection(**(values | fields))


def sfdx_auth_url(standin: SalesforceStandIn, refresh_token: str | None = None) -> str:
    token = refresh_token or next(iter(standin.refresh_tokens))
    return f"force://{standin.consumer_key}:{standin.client_secret}:{token}@{standin.host}"


def sfdx_connection(standin: SalesforceStandIn, **fields: Any) -> OrgConnection:
    values = {
        "auth_method": AuthMethod.SFDX_URL,
        "sfdx_auth_url": sfdx_auth_url(standin),
    }
    return OrgConnection(**(values | fields))


def client_credentials_connection(standin: SalesforceStandIn, **fields: Any) -> OrgConnection:
    values = {
        "auth_method": AuthMethod.CLIENT_CREDENTIALS,
        "login_url": standin.url,
        "consumer_key": standin.consumer_key,
        "client_secret": standin.client_secret,
    }
    return OrgConnection(**(values | fields))


def token_connection(standin: SalesforceStandIn, **fields: Any) -> OrgConnection:
    values = {
        "auth_method": AuthMethod.ACCESS_TOKEN,
        "instance_url": standin.url,
        "access_token": standin.new_session(USERNAME),
    }
    return OrgConnection(**(values | fields))


CONNECTIONS = {
    "password": password_connection,
    "jwt": jwt_connection,
    "sfdx_url": sfdx_connection,
    "client_credentials": client_credentials_connection,
    "access_token": token_connection,
}
