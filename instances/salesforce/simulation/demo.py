"""The demo's simulated org: the simulation configured for `make run`, and only for it.

`manage.py seed_demo` gives QA an org connection to it and plays a promotion whose validation
fails on a component error there; `manage.py serve` runs it (`manage.py simulated_org`) beside
the web server and the task cluster, so promotions into QA keep deploying to it, with
progress. It listens on 127.0.0.1 only, on DEMO_SIMULATED_ORG_PORT, with a certificate from a
CA of its own made once with trustme (DATA_DIR/simulated-org/). Org connections reach it
because the demo's settings add 127.0.0.1 to SALESFORCE_EXTRA_HOSTS and point
SALESFORCE_CA_BUNDLE at certifi's CAs plus its own (`ca-bundle.pem`). It refuses to start
unless DEMO_SIMULATED_ORG and DEBUG are both on; the system check releasemgr.E002 refuses
DEMO_SIMULATED_ORG without DEBUG.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import certifi
import trustme
from django.conf import settings

from instances.salesforce.simulation import LABEL, enabled
from instances.salesforce.simulation.server import SimulatedOrg, running

# What the demo org refuses: the story's "Account health score" reads a field the org lacks.
REFUSED = {
    "AccountHealth": {
        "fileName": "classes/AccountHealth.cls",
        "lineNumber": 3,
        "columnNumber": 17,
        "problem": "Variable does not exist: Health_Score__c",
    }
}


class SimulationRefused(Exception):
    """The simulated org does not start outside the demo."""


@dataclass(frozen=True)
class Certificates:
    ca: Path  # the simulation's own CA
    bundle: Path  # certifi's CAs and the simulation's: SALESFORCE_CA_BUNDLE in the demo
    chain: Path  # the server's certificate (for 127.0.0.1)
    key: Path

    def configure_cert(self, context: ssl.SSLContext) -> None:
        context.load_cert_chain(str(self.chain), str(self.key))


def directory() -> Path:
    return Path(settings.DATA_DIR) / "simulated-org"


def certificates() -> Certificates:
    """The CA, the bundle and the server's certificate, made on first use and kept."""
    folder = directory()
    made = Certificates(
        folder / "ca.pem", folder / "ca-bundle.pem", folder / "server.pem", folder / "server.key"
    )
    if all(path.exists() for path in (made.ca, made.bundle, made.chain, made.key)):
        return made
    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA(organization_name="releasemgr demo (simulated org)")
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    key = made.key.with_suffix(".key.new")
    key.touch(mode=0o600)
    leaf.private_key_pem.write_to_path(str(key))
    leaf.private_key_and_cert_chain_pem.write_to_path(str(made.chain.with_suffix(".new")))
    ca.cert_pem.write_to_path(str(made.ca.with_suffix(".new")))
    bundle = Path(certifi.where()).read_bytes().rstrip(b"\n") + b"\n" + ca.cert_pem.bytes()
    made.bundle.with_suffix(".new").write_bytes(bundle)
    for path in (made.chain, made.ca, made.bundle):
        path.with_suffix(".new").replace(path)
    key.replace(made.key)  # last: its presence says the rest is there
    return made


def demo_org() -> SimulatedOrg:
    """Acme's QA sandbox, as the demo shows it: deployments take a few polls, run the tests,
    and refuse the components in REFUSED."""
    org = SimulatedOrg()
    org.org.name = f"Acme QA — {LABEL}"
    org.org.is_sandbox = True
    org.knobs.deploy_polls = 3
    org.knobs.refused_components = {name: dict(failure) for name, failure in REFUSED.items()}
    return org


def check_port() -> None:
    """SimulationRefused when DEMO_SIMULATED_ORG_PORT is taken, before anything relies on it."""
    port = settings.DEMO_SIMULATED_ORG_PORT
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise SimulationRefused(
                f"The simulated org cannot listen on 127.0.0.1:{port} ({exc.strerror}): stop "
                "what listens there, or choose another port with DEMO_SIMULATED_ORG_PORT."
            ) from None


@contextlib.contextmanager
def serving() -> Iterator[SimulatedOrg]:
    """Run the demo's simulated org on 127.0.0.1:DEMO_SIMULATED_ORG_PORT until the block ends."""
    if not enabled():
        raise SimulationRefused(
            "The simulated org runs only in the demo: set DEMO_SIMULATED_ORG=1 with DEBUG=1 "
            "(`make run` does)."
        )
    made = certificates()
    with running(made, str(made.ca), port=settings.DEMO_SIMULATED_ORG_PORT, org=demo_org()) as org:
        yield org
