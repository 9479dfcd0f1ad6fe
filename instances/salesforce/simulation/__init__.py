"""A simulated Salesforce org: for the demo (`demo.py`) and the tests' stand-in, never a real one.

`server.py` speaks Salesforce's shapes over real HTTPS on 127.0.0.1 (logins, OAuth, REST, the
Metadata API's deployments; `oauth.py`, `metadata.py`, `responses.py`, `state.py`). This
module is what the rest of the product asks about it, without loading the server: whether the
demo's simulated org is on, where it listens, and whether an org connection points at it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

LABEL = "Simulated org (demo)"


def enabled() -> bool:
    """The demo's simulated org may run: DEMO_SIMULATED_ORG, and only with DEBUG on."""
    return bool(settings.DEMO_SIMULATED_ORG) and bool(settings.DEBUG)


def url() -> str:
    return f"https://127.0.0.1:{settings.DEMO_SIMULATED_ORG_PORT}"


def is_simulated(*urls: str) -> bool:
    """One of `urls` (an org connection's login or instance URL) is the demo's simulated org."""
    if not enabled():
        return False
    here = urlsplit(url()).netloc
    return any(u and urlsplit(u).netloc == here for u in urls)
