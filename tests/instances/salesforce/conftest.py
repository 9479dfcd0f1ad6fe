"""The org most tests of the client deploy to: the stand-in, logged in with a password."""

from __future__ import annotations

import pytest

from instances import salesforce as sf
from tests.salesforce_standin.connections import password_connection


@pytest.fixture
def org(salesforce):
    return sf.connect(password_connection(salesforce).credentials(), ca_bundle=salesforce.ca_path)
