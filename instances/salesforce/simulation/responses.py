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
    "UNSUPPORTED_API_VERSION": "Invalid Api version specified on URL",
}


def _xml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


class Raw(str):
    """Already-built XML, nested as is."""


class _Nil:
    """A nillable element with no value: `<name xsi:nil="true"/>`, as real orgs send it."""


NIL = _Nil()


def elements(fields: dict[str, Any]) -> str:
    """`<name>value</name>` for each field, in order; None is left out, lists repeat, NIL is
    `xsi:nil`."""
    parts = []
    for name, value in fields.items():
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            if item is NIL:
                parts.append(f'<{name} xsi:nil="true"/>')
                continue
            inner = item if isinstance(item, Raw) else _xml(item)
            parts.append(f"<{name}>{inner}</{name}>")
    return "".join(parts)


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
        "NOT_FOUND": "The requested resource does not exist",
    }
    return [{"message": message or messages.get(code, code), "errorCode": code}]


def unavailable_page(status: int) -> bytes:
    """What a 5xx from Salesforce's edge looks like: HTML, not SOAP or JSON."""
    return (
        f"<html><head><title>{status} Service Unavailable</title></head><body>"
        "<h1>Service Unavailable</h1><p>The server is temporarily unable to service your "
        "request due to maintenance downtime or capacity problems.</p></body></html>"
    ).encode()


def _message(message: dict[str, Any], now: str, *, success: bool) -> Raw:
    """A DeployMessage, fields in the WSDL's order."""
    return Raw(
        elements(
            {
                "changed": message.get("changed", False),
                "columnNumber": message.get("columnNumber"),
                "componentType": message.get("componentType", ""),
                "created": message.get("created", False),
                "createdDate": now,
                "deleted": message.get("deleted", False),
                "fileName": message.get("fileName", ""),
                "fullName": message.get("fullName", ""),
                "id": message.get("id"),
                "lineNumber": message.get("lineNumber"),
                "problem": message.get("problem"),
                "problemType": message.get("problemType") if message.get("problem") else None,
                "success": success,
            }
        )
    )


def _run_test_result(d: Any) -> str:
    """A RunTestsResult, fields in the WSDL's order. Real orgs send one on every finished
    deployment, with zeros when no test ran."""
    coverage = [
        Raw(
            elements(
                {
                    "id": c["id"],
                    "name": c["name"],
                    "namespace": NIL,
                    "numLocations": c["numLocations"],
                    "numLocationsNotCovered": c["numLocationsNotCovered"],
                    "type": c["type"],
                }
            )
        )
        for c in d.coverage
    ]
    warnings = [
        Raw(
            elements(
                {
                    "id": w["id"],
                    "message": w["message"],
                    "name": w["name"] if w.get("name") else NIL,
                    "namespace": NIL if w.get("name") else "",
                }
            )
        )
        for w in d.coverage_warnings
    ]
    failures = [
        Raw(
            elements(
                {
                    "id": "01p5g00000ABCDEAA1",
                    "message": f.get("message", ""),
                    "methodName": f.get("methodName") or NIL,
                    "name": f.get("name", ""),
                    "namespace": NIL,
                    "packageName": f.get("name", ""),
                    "stackTrace": f.get("stackTrace") or NIL,
                    "time": 12.0,
                    "type": "Class",
                }
            )
        )
        for f in d.test_failures
    ]
    successes = [
        Raw(
            elements(
                {
                    "id": "01p5g00000ABCDFAA1",
                    "methodName": s["methodName"],
                    "name": s["name"],
                    "namespace": NIL,
                    "time": 9.0,
                }
            )
        )
        for s in d.test_successes
    ]
    ran = len(d.test_failures) + len(d.test_successes)
    return elements(
        {
            "codeCoverage": coverage or None,
            "codeCoverageWarnings": warnings or None,
            "failures": failures or None,
            "numFailures": len(d.test_failures),
            "numTestsRun": ran,
            "successes": successes or None,
            "totalTime": 21.0 * ran,
        }
    )


def deploy_result(deployment: Any, now: str, *, count_component_errors: bool = True) -> str:
    """A DeployResult with details, fields in the WSDL's order."""
    d = deployment
    details = elements(
        {
            "componentFailures": [_message(f, now, success=False) for f in d.component_failures]
            or None,
            "componentSuccesses": [_message(s, now, success=True) for s in d.component_successes]
            or None,
            "runTestResult": Raw(_run_test_result(d)) if d.done or d.tests_total else None,
        }
    )
    canceled = d.status == "Canceled"
    errors = [f for f in d.component_failures if f.get("problemType", "Error") == "Error"]
    return elements(
        {
            "canceledBy": "0055g00000ABCDEAA1" if canceled else None,
            "canceledByName": d.canceled_by_name or None if canceled else None,
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
            "numberComponentErrors": len(errors) if count_component_errors else 0,
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
            "success": d.status in ("Succeeded", "SucceededPartial"),
        }
    )
