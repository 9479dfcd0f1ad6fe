"""A stand-in for Salesforce: a real HTTPS server on loopback speaking Salesforce's shapes.

The server is the product's simulated org (instances/salesforce/simulation/), the one the
demo runs too; this package adds what only tests need: the pytest fixtures (plugin.py), key
pairs, org connections per auth method and small deploy packages. See docs/salesforce.md
("How the tests fake Salesforce").
"""

from instances.salesforce.simulation.server import SimulatedOrg, running
from instances.salesforce.simulation.state import (
    DEFAULT_COMPONENT_FAILURES,
    DEFAULT_TEST_FAILURES,
    Deployment,
    Knobs,
    Organization,
    Received,
    User,
)

SalesforceStandIn = SimulatedOrg  # the tests' name for it

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
