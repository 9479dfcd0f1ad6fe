"""The Salesforce API version releasemgr speaks, in one place.

Deployment packages write it as package.xml's `<version>` when a project names no
`sourceApiVersion`; the Salesforce client calls the Metadata API (`/services/Soap/m/<ver>`) and
the REST API (`/services/data/v<ver>/`) at it. Only SOAP `login()` uses an older one
(`instances.salesforce.login.SOAP_LOGIN_LAST_VERSION`: Salesforce no longer offers it from 65.0).
Salesforce's Winter '26 release is 65.0, Spring '26 66.0. `tests/test_api_version.py` checks
that the docs and the Salesforce stand-in agree with it.
"""

API_VERSION = "65.0"
