"""The stand-in's Metadata API: deploy, checkDeployStatus, deployRecentValidation,
cancelDeploy. What a deployment does follows the org's rules (production test levels and code
coverage, warnings for deleting what the org does not have); how long it takes and whether it
fails are scripted by the knobs. Shapes and evidence: docs/salesforce.md."""

from __future__ import annotations

import base64
import datetime as dt
import io
import secrets
import threading
import zipfile
from typing import Any
from xml.etree import ElementTree as ET

from instances.salesforce.simulation import responses as r
from instances.salesforce.simulation.state import Deployment, Knobs, Organization, SoapFault

DESTRUCTIVE = ("destructiveChangesPre.xml", "destructiveChanges.xml", "destructiveChangesPost.xml")
FOLDERS = {"ApexClass": ("classes", ".cls"), "ApexTrigger": ("triggers", ".trigger")}
COVERAGE_REQUIRED = 75  # per cent, production only
DEFAULT_COVERAGE = (20, 2)  # numLocations, numLocationsNotCovered: 90 %


def _members(xml: bytes) -> dict[str, list[str]]:
    ns = f"{{{r.METADATA_NS}}}"
    root = ET.fromstring(xml)  # noqa: S314
    members: dict[str, list[str]] = {}
    for types in root.iterfind(f"{ns}types"):
        name = types.findtext(f"{ns}name") or ""
        members.setdefault(name, []).extend(m.text or "" for m in types.iterfind(f"{ns}members"))
    return members


def is_jwt(token: str) -> bool:
    """A JWT-format access token: three base64url parts, the first a JSON header."""
    parts = token.split(".")
    if len(parts) != 3:
        return False
    try:
        header = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4))
    except ValueError:
        return False
    return header.startswith(b"{")


class MetadataApi:
    """Mixed into the stand-in: the SOAP endpoint /services/Soap/m/<ver>."""

    knobs: Knobs
    org: Organization
    deployments: dict[str, Deployment]
    lock: threading.RLock

    def valid(self, session_id: str) -> bool:
        raise NotImplementedError

    def metadata(self, body: bytes, api_version: str) -> bytes:
        root = ET.fromstring(body)  # noqa: S314
        session_id = root.findtext(
            f".//{{{r.METADATA_NS}}}SessionHeader/{{{r.METADATA_NS}}}sessionId"
        )
        if not self.valid(session_id or ""):
            raise SoapFault("INVALID_SESSION_ID")
        if is_jwt(session_id or "") and float(api_version) < 68.0:
            # The SOAP APIs accept JWT-based access tokens from API 68.0 on only.
            raise SoapFault("INVALID_SESSION_ID")
        if self.knobs.api_disabled:
            raise SoapFault("API_DISABLED_FOR_ORG")
        if self.knobs.request_limit_exceeded:
            raise SoapFault("REQUEST_LIMIT_EXCEEDED")
        request = root.find(f"{{{r.SOAPENV}}}Body/*")
        if request is None:
            raise SoapFault("INVALID_OPERATION", "No operation in the SOAP body")
        operation = request.tag.rpartition("}")[2]
        handler = getattr(self, f"_md_{operation}", None)
        if handler is None:
            raise SoapFault("INVALID_OPERATION", f"No operation {operation}")
        return r.metadata_response(operation, handler(request))

    def _field(self, element: ET.Element, path: str) -> str:
        ns = f"{{{r.METADATA_NS}}}"
        return element.findtext("/".join(f"{ns}{part}" for part in path.split("/"))) or ""

    def _new_deployment(self, **fields: Any) -> Deployment:
        deploy_id = "0Af5g" + secrets.token_hex(5).upper()[:10] + "AAA"
        created = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        deployment = Deployment(id=deploy_id, created=created, **fields)
        with self.lock:
            self.deployments[deploy_id] = deployment
        return deployment

    def _md_deploy(self, request: ET.Element) -> str:
        ns = f"{{{r.METADATA_NS}}}"
        zip_bytes = base64.b64decode(self._field(request, "ZipFile"))
        archive = zipfile.ZipFile(io.BytesIO(zip_bytes))  # a real org rejects a non-zip too
        archive.testzip()
        names = archive.namelist()
        members = _members(archive.read("package.xml")) if "package.xml" in names else {}
        destructive: dict[str, list[str]] = {}
        for name in DESTRUCTIVE:
            if name in names:
                for kind, found in _members(archive.read(name)).items():
                    destructive.setdefault(kind, []).extend(found)
        options = request.find(f"{ns}DeployOptions")
        if options is None:
            raise SoapFault("INVALID_OPERATION", "DeployOptions is required")
        level = self._field(options, "testLevel")
        has_apex = any(members.get(kind) for kind in FOLDERS)
        if self.org.is_production:
            if level == "NoTestRun":
                raise SoapFault(
                    "INVALID_OPERATION",
                    "testLevel of NoTestRun cannot be used in production organizations",
                )
            # No level: production runs the local tests when the package holds Apex.
            level = level or ("RunLocalTests" if has_apex else "NoTestRun")
        deployment = self._new_deployment(
            zip_bytes=zip_bytes,
            check_only=self._field(options, "checkOnly") == "true",
            test_level=level or "NoTestRun",
            run_tests=[e.text or "" for e in options.iterfind(f"{ns}runTests")],
            ignore_warnings=self._field(options, "ignoreWarnings") == "true",
            rollback_on_error=self._field(options, "rollbackOnError") != "false",
            members=members,
            destructive=destructive,
        )
        return r.elements({"done": False, "id": deployment.id, "state": "Queued"})

    def _md_checkDeployStatus(self, request: ET.Element) -> str:  # noqa: N802
        deployment = self.deployments.get(self._field(request, "asyncProcessId"))
        if deployment is None:
            raise SoapFault("INVALID_ID_FIELD", "invalid id")
        with self.lock:
            self._advance(deployment)
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return r.deploy_result(
            deployment, now, count_component_errors=self.knobs.count_component_errors
        )

    def _advance(self, d: Deployment) -> None:
        """One poll's worth of progress, scripted by the knobs."""
        k = self.knobs
        if d.done:
            return
        d.polls += 1
        d.components_total = k.components_total
        runs_tests = d.test_level != "NoTestRun" and not d.quick_of
        d.tests_total = k.tests_total if runs_tests else 0
        if d.cancel_requested:
            if d.status != "Canceling":
                d.status, d.state_detail = "Canceling", ""
                return
            self._cancel(d)
            return
        if k.deploy_never_finishes or d.polls <= k.deploy_polls:
            fraction = d.polls / (k.deploy_polls + 1) if not k.deploy_never_finishes else 0.5
            d.status = "Pending" if d.polls == 1 and k.deploy_polls > 1 else "InProgress"
            d.components_deployed = int(d.components_total * fraction)
            d.tests_completed = int(d.tests_total * fraction)
            d.state_detail = "Processing Type: Apex Class"
            return
        self._finish(d)

    def _cancel(self, d: Deployment) -> None:
        d.status, d.done, d.state_detail = "Canceled", True, ""
        d.canceled_by_name = "Integration User"

    def _finish(self, d: Deployment) -> None:
        k = self.knobs
        d.done, d.state_detail = True, ""
        d.components_deployed = d.components_total
        d.tests_completed = d.tests_total
        warnings = self._deletion_warnings(d)
        if k.deploy_outcome == "component_errors":
            d.component_failures = [dict(f) for f in k.component_failures]
        d.component_failures += [
            {"componentType": kind, "fullName": name, "problemType": "Error"}
            | k.refused_components[name]
            for kind, names in d.members.items()
            for name in names
            if name in k.refused_components
        ]
        if not d.ignore_warnings:
            d.component_failures += warnings
        failed_names = {f.get("fullName") for f in d.component_failures}
        d.component_successes = [
            message for message in self._successes(d) if message["fullName"] not in failed_names
        ]
        if d.ignore_warnings:
            d.component_successes += warnings  # success=true, the problem kept
        if d.component_failures:
            d.components_deployed = d.components_total - len(d.component_failures)
            d.tests_completed = 0
            d.tests_total = 0 if d.rollback_on_error else d.tests_total
            d.status = "Failed" if d.rollback_on_error else "SucceededPartial"
            if d.status == "Failed":
                d.component_successes = []
                return
        if d.tests_total:
            self._run_tests(d)
            if k.deploy_outcome == "test_failures":
                d.test_failures = [dict(f) for f in k.test_failures]
                d.test_successes = d.test_successes[len(d.test_failures) :]
                d.status = "Failed"
                return
            if d.coverage_warnings:
                d.status = "Failed"
                return
        if d.status != "SucceededPartial":
            d.status = "Succeeded"
        if not d.check_only:
            self._apply(d)

    def _deletion_warnings(self, d: Deployment) -> list[dict[str, Any]]:
        """Deleting a component the org does not have is a warning; with ignoreWarnings off,
        a warning fails the deployment like an error."""
        return [
            {
                "componentType": kind,
                "fullName": name,
                "fileName": "destructiveChanges.xml",
                "problem": f"No {kind} named: {name} found",
                "problemType": "Warning",
            }
            for kind, names in d.destructive.items()
            for name in names
            if name not in self.org.components.get(kind, set())
        ]

    def _successes(self, d: Deployment) -> list[dict[str, Any]]:
        held = self.org.components
        messages: list[dict[str, Any]] = [
            {"changed": True, "fileName": "package.xml", "fullName": "package.xml"}
        ]
        for kind, names in d.members.items():
            folder, suffix = FOLDERS.get(kind, (kind.lower(), ""))
            for name in names:
                messages.append(
                    {
                        "changed": True,
                        "componentType": kind,
                        "created": name not in held.get(kind, set()),
                        "fileName": f"{folder}/{name}{suffix}",
                        "fullName": name,
                        "id": "01p5g00000" + secrets.token_hex(4).upper(),
                    }
                )
        for kind, names in d.destructive.items():
            for name in names:
                if name in held.get(kind, set()):
                    messages.append(
                        {
                            "changed": False,
                            "componentType": kind,
                            "deleted": True,
                            "fileName": "destructiveChanges.xml",
                            "fullName": name,
                        }
                    )
        return messages

    def _run_tests(self, d: Deployment) -> None:
        """Test results and code coverage of the package's Apex; production enforces 75 %."""
        archive = zipfile.ZipFile(io.BytesIO(d.zip_bytes))
        test_classes, covered = [], []
        for kind, (folder, suffix) in FOLDERS.items():
            for name in d.members.get(kind, []):
                path = f"{folder}/{name}{suffix}"
                source = (
                    archive.read(path).decode("utf-8", "replace").lower()
                    if path in (archive.namelist())
                    else ""
                )
                if "@istest" in source:
                    test_classes.append(name)
                else:
                    covered.append((kind, name))
        classes = d.run_tests or test_classes or ["InvoiceServiceTest"]
        d.test_successes = [
            {"name": classes[n % len(classes)], "methodName": f"test{n + 1}"}
            for n in range(d.tests_total)
        ]
        lines = total_lines = 0
        for kind, name in covered:
            locations, not_covered = self.knobs.coverage.get(name, DEFAULT_COVERAGE)
            d.coverage.append(
                {
                    "id": "01p5g00000COVER" + str(len(d.coverage)).zfill(3),
                    "name": name,
                    "numLocations": locations,
                    "numLocationsNotCovered": not_covered,
                    "type": "Class" if kind == "ApexClass" else "Trigger",
                }
            )
            lines += locations - not_covered
            total_lines += locations
        if not self.org.is_production:
            return
        for c in d.coverage:
            percent = _percent(c["numLocations"], c["numLocationsNotCovered"])
            kind = "Apex Class" if c["type"] == "Class" else "Apex Trigger"
            need = 1 if c["type"] == "Trigger" else COVERAGE_REQUIRED
            per_class = d.test_level == "RunSpecifiedTests" or c["type"] == "Trigger"
            if per_class and percent < need:
                d.coverage_warnings.append(
                    {
                        "id": c["id"],
                        "name": c["name"],
                        "message": f"Test coverage of selected {kind} is {percent}%, at least "
                        f"{need}% test coverage is required",
                    }
                )
        if d.test_level != "RunSpecifiedTests" and total_lines:
            average = _percent(total_lines, total_lines - lines)
            if average < COVERAGE_REQUIRED:
                d.coverage_warnings.append(
                    {
                        "id": "01p5g00000ORGWIDE",
                        "name": None,
                        "message": f"Average test coverage across all Apex Classes and "
                        f"Triggers is {average}%, at least {COVERAGE_REQUIRED}% test coverage "
                        "is required.",
                    }
                )

    def _apply(self, d: Deployment) -> None:
        """A deployment that went through changes what the org holds."""
        for kind, names in d.members.items():
            self.org.components.setdefault(kind, set()).update(names)
        for kind, names in d.destructive.items():
            self.org.components.setdefault(kind, set()).difference_update(names)

    def _md_deployRecentValidation(self, request: ET.Element) -> str:  # noqa: N802
        validation = self.deployments.get(self._field(request, "validationId"))
        if (
            validation is None
            or not validation.check_only
            or validation.status != "Succeeded"
            or validation.test_level == "NoTestRun"
        ):
            raise SoapFault(
                "INVALID_ID_FIELD", "The requested ID isn't valid for quick deploy.", status=500
            )
        deployment = self._new_deployment(
            zip_bytes=validation.zip_bytes,
            check_only=False,
            test_level=validation.test_level,
            run_tests=validation.run_tests,
            ignore_warnings=validation.ignore_warnings,
            rollback_on_error=validation.rollback_on_error,
            quick_of=validation.id,
            members=validation.members,
            destructive=validation.destructive,
        )
        return r._xml(deployment.id)

    def _md_cancelDeploy(self, request: ET.Element) -> str:  # noqa: N802
        # The WSDL names the parameter String; jsforce and the Salesforce CLI send <id>.
        deploy_id = self._field(request, "String") or self._field(request, "id")
        deployment = self.deployments.get(deploy_id)
        if deployment is None:
            raise SoapFault("INVALID_ID_FIELD", "invalid id")
        with self.lock:
            if deployment.done:
                raise SoapFault("INVALID_ID_FIELD", "The deployment has already completed.")
            if deployment.polls == 0:  # still queued: canceled at once
                self._cancel(deployment)
            else:
                deployment.cancel_requested = True
        return r.elements({"done": deployment.done, "id": deployment.id})


def _percent(locations: int, not_covered: int) -> int:
    if not locations:
        return 100
    return (100 * (locations - not_covered)) // locations
