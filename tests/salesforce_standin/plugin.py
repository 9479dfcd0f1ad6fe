"""pytest fixtures: `salesforce`, a fresh stand-in org per test, trusted through a trustme CA.

Load them in a test module with `pytest_plugins = ["tests.salesforce_standin.plugin"]`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.salesforce_standin import SalesforceStandIn, running
from tests.salesforce_standin.keys import KeyPair, make_key_pair


@dataclass(frozen=True)
class Tls:
    ca: trustme.CA
    cert: trustme.LeafCert
    ca_path: str


@pytest.fixture(scope="session")
def salesforce_tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    """One CA and one certificate for 127.0.0.1 per test run."""
    ca = trustme.CA(organization_name="releasemgr stand-in CA")
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_path = Path(tmp_path_factory.mktemp("salesforce-tls")) / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    return Tls(ca, cert, str(ca_path))


@pytest.fixture(scope="session")
def salesforce_jwt_keys() -> KeyPair:
    """The connected app's certificate key pair (generated once: RSA keys are slow)."""
    return make_key_pair()


@pytest.fixture
def salesforce(
    salesforce_tls: Tls, salesforce_jwt_keys: KeyPair, settings: Any
) -> Iterator[SalesforceStandIn]:
    """A stand-in org on https://127.0.0.1:<free port>; `.url`, `.ca_path`, `.knobs`,
    `.requests`; its connected app trusts `salesforce_jwt_keys`. Org connections may reach it:
    127.0.0.1 is an extra allowed Salesforce host for the test."""
    settings.SALESFORCE_EXTRA_HOSTS = ["127.0.0.1"]
    with running(salesforce_tls.cert, salesforce_tls.ca_path) as standin:
        standin.jwt_public_key = salesforce_jwt_keys.public_pem
        standin.jwt_private_key = salesforce_jwt_keys.private_pem
        yield standin
