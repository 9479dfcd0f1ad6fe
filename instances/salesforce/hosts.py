"""Which hosts an org connection may send its secrets to: Salesforce's own domains only.

Login hosts and instance URLs are checked when a connection is saved and again before every
request (the instance URL a login answers with included), so a stored password or token never
goes anywhere else. Salesforce's domains: `*.salesforce.com`, `*.force.com`,
`*.salesforce.mil`, `*.cloudforce.com`, `*.salesforce-setup.com` (My Domain hosts are under
them). SALESFORCE_EXTRA_HOSTS lists other exact host names to allow (a proxy, a test stand-in).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

from instances.salesforce.errors import SalesforceError

SALESFORCE_DOMAINS = (
    "salesforce.com",
    "force.com",
    "salesforce.mil",
    "cloudforce.com",
    "salesforce-setup.com",
)


class HostNotAllowed(SalesforceError):
    """The request would go to a host that is not Salesforce's; nothing was sent."""


def host_allowed(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host in {h.lower() for h in settings.SALESFORCE_EXTRA_HOSTS}:
        return True
    return any(host == d or host.endswith("." + d) for d in SALESFORCE_DOMAINS)


def url_host_problem(url: str) -> str | None:
    """Why the server will not send an org's secrets to `url`, or None."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "Not a URL."
    if parts.scheme != "https":
        return "Salesforce is reached over https:// only."
    if parts.username or parts.password:
        return "Put credentials in their own fields, not in the URL."
    if not host_allowed(host):
        return (
            f"{host or 'This host'} is not a Salesforce host (*.salesforce.com, *.force.com, "
            "*.salesforce.mil, *.cloudforce.com, *.salesforce-setup.com, or a host listed in "
            "SALESFORCE_EXTRA_HOSTS)."
        )
    return None
