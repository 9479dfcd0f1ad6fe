"""A stand-in for Salesforce: a real HTTPS server on loopback speaking Salesforce's shapes.

See docs/salesforce.md ("How the tests fake Salesforce").
"""

from tests.salesforce_standin.server import SalesforceStandIn, running
from tests.salesforce_standin.state import (
    DEFAULT_COMPONENT_FAILURES,
    DEFAULT_TEST_FAILURES,
    Deployment,
    Knobs,
    Organization,
    Received,
    User,
)

__all__ = [
    "DEFAULT_COMPONENT_FAILURES",
    "DEFAULT_TEST_FAILURES",
    "Deployment",
    "Knobs",
    "Organization",
    "Received",
    "SalesforceStandIn",
    "User",
    "running",
]
