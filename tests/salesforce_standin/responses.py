"""The bodies Salesforce sends back, in its own shapes (SOAP envelopes, REST JSON, OAuth JSON)."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

SOAPENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER_NS = "urn:partner.soap.sforce.com"
PARTNER_FAULT_NS = "urn:fault.partner.soap.sforce.com"
METADATA_NS = "http://soap.sforce.com/2006/04/metadata"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

MESSAGES = {
    "INVALID_LOGIN": "Invalid username, password, security token; or user locked out.",
    "INVALID_SESSION_ID": "Invalid Session ID found in SessionHeader: Illegal Session",
    "API_DISABLED_FOR_ORG": "API is not enabled for this Organization or Partner",
    "REQUEST_LIMIT_EXCEEDED": "TotalRequests Limit exceeded.",
}


def _xml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def elements(fields: dict[str, Any]) -> str:
    """`<name>value</name>` for each field, in order; None is left out, lists repeat."""
    parts = []
    for name, value in fields.items():
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            inner = item if isinstance(item, Raw) else _xml(item)
            parts.append(f"<{name}>{inner}</{name}>")
    return "".join(parts)


class Raw(str):
    """Already-built XML, nested as is."""


def envelope(body: str, namespaces: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAPENV}" xmlns:xsi="{XSI}"{namespaces}>'
        f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    ).encode()


def login_response(*, url: str, api_version: str, session_id: str, org: Any, user: Any) -> bytes:
    org_path = f"{api_version}/{org.org_id[:15]}"
    user_info = elements(
        {
            "accessibilityMode": False,
            "currencySymbol": "$",
            "orgAttachmentFileSizeLimit": 5242880,
            "orgDefaultCurrencyIsoCode": "USD",
            "orgDisallowHtmlAttachments": False,
            "orgHasPersonAccounts": False,
            "organizationId": org.org_id,
            "organizationMultiCurrency": False,
            "organizationName": org.name,
            "profileId": "00e5g000001ABCDAA2",
            "roleId": None,
            "sessionSecondsValid": 7200,
            "userDefaultCurrencyIsoCode": None,
            "userEmail": f"{user.username.split('@')[0]}@example.com",
            "userFullName": "Integration User",
            "userId": user.user_id,
            "userLanguage": "en_US",
            "userLocale": "en_US",
            "userName": user.username,
            "userTimeZone": "Europe/Paris",
            "userType": "Standard",
            "userUiSkin": "Theme3",
        }
    )
    result = elements(
        {
            "metadataServerUrl": f"{url}/services/Soap/m/{org_path}",
            "passwordExpired": False,
            "sandbox": org.is_sandbox,
            "serverUrl": f"{url}/services/Soap/u/{org_path}",
            "sessionId": session_id,
            "userId": user.user_id,
            "userInfo": Raw(user_info),
        }
    )
    return envelope(
        f"<loginResponse><result>{result}</result></loginResponse>", f' xmlns="{PARTNER_NS}"'
    )


def soap_fault(code: str, message: str = "", *, login: bool = False) -> bytes:
    """A SOAP fault as the partner login (LoginFault) or the Metadata API sends it."""
    message = message or MESSAGES.get(code, code)
    namespace = PARTNER_FAULT_NS if login else METADATA_NS
    kind = "LoginFault" if login and code == "INVALID_LOGIN" else "UnexpectedErrorFault"
    detail = (
        f'<detail><sf:{kind} xsi:type="sf:{kind}">'
        f"<sf:exceptionCode>{escape(code)}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
        f"</sf:{kind}></detail>"
    )
    return envelope(
        f"<soapenv:Fault><faultcode>sf:{escape(code)}</faultcode>"
        f"<faultstring>{escape(code)}: {escape(message)}</faultstring>{detail}</soapenv:Fault>",
        f' xmlns:sf="{namespace}"',
    )


def metadata_response(operation: str, result: str) -> bytes:
    return envelope(
        f"<{operation}Response><result>{result}</result></{operation}Response>",
        f' xmlns="{METADATA_NS}"',
    )


def rest_error(code: str, message: str = "") -> list[dict[str, str]]:
    messages = {
        "INVALID_SESSION_ID": "Session expired or invalid",
        "API_DISABLED_FOR_ORG": "The REST API is not enabled for this Organization.",
        "REQUEST_LIMIT_EXCEEDED": "TotalRequests Limit exceeded.",
    }
    return [{"message": message or messages.get(code, code), "errorCode": code}]


def unavailable_page(status: int) -> bytes:
    """What a 5xx from Salesforce's edge looks like: HTML, not SOAP or JSON."""
    return (
        f"<html><head><title>{status} Service Unavailable</title></head><body>"
        "<h1>Service Unavailable</h1><p>The server is temporarily unable to service your "
        "request due to maintenance downtime or capacity problems.</p></body></html>"
    ).encode()


def deploy_result(deployment: Any, now: str) -> str:
    """A DeployResult with details, fields in the WSDL's order."""
    d = deployment
    component_failures = [
        Raw(
            elements(
                {
                    "changed": False,
                    "columnNumber": failure.get("columnNumber"),
                    "componentType": failure.get("componentType", ""),
                    "created": False,
                    "createdDate": now,
                    "deleted": False,
                    "fileName": failure.get("fileName", ""),
                    "fullName": failure.get("fullName", ""),
                    "lineNumber": failure.get("lineNumber"),
                    "problem": failure.get("problem", ""),
                    "problemType": failure.get("problemType", "Error"),
                    "success": False,
                }
            )
        )
        for failure in d.component_failures
    ]
    test_failures = [
        Raw(
            elements(
                {
                    "id": "01p5g00000ABCDEAA1",
                    "message": failure.get("message", ""),
                    "methodName": failure.get("methodName", ""),
                    "name": failure.get("name", ""),
                    "namespace": None,
                    "packageName": failure.get("name", ""),
                    "stackTrace": failure.get("stackTrace", ""),
                    "time": 12.0,
                    "type": "Class",
                }
            )
        )
        for failure in d.test_failures
    ]
    run_test_result = elements(
        {
            "failures": test_failures or None,
            "numFailures": len(d.test_failures),
            "numTestsRun": d.tests_completed,
            "totalTime": 42.0,
        }
    )
    details = elements(
        {
            "componentFailures": component_failures or None,
            "runTestResult": Raw(run_test_result) if d.tests_total else None,
        }
    )
    return elements(
        {
            "canceledBy": "0055g00000ABCDEAA1" if d.status == "Canceled" else None,
            "checkOnly": d.check_only,
            "completedDate": now if d.done else None,
            "createdBy": "0055g00000ABCDEAA1",
            "createdByName": "Integration User",
            "createdDate": d.created,
            "details": Raw(details),
            "done": d.done,
            "errorMessage": d.error_message or None,
            "id": d.id,
            "ignoreWarnings": d.ignore_warnings,
            "lastModifiedDate": now,
            "numberComponentErrors": len(d.component_failures),
            "numberComponentsDeployed": d.components_deployed,
            "numberComponentsTotal": d.components_total,
            "numberTestErrors": len(d.test_failures),
            "numberTestsCompleted": d.tests_completed,
            "numberTestsTotal": d.tests_total,
            "rollbackOnError": d.rollback_on_error,
            "runTestsEnabled": d.tests_total > 0,
            "startDate": d.created,
            "stateDetail": d.state_detail or None,
            "status": d.status,
            "success": d.status == "Succeeded",
        }
    )
