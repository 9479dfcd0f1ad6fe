"""The stand-in's Metadata API: deploy, checkDeployStatus, deployRecentValidation,
cancelDeploy, with progress scripted by the knobs."""

from __future__ import annotations

import base64
import datetime as dt
import io
import secrets
import threading
import zipfile
from typing import Any
from xml.etree import ElementTree as ET

from tests.salesforce_standin import responses as r
from tests.salesforce_standin.state import Deployment, Knobs, SoapFault


class MetadataApi:
    """Mixed into the stand-in: the SOAP endpoint /services/Soap/m/<ver>."""

    knobs: Knobs
    deployments: dict[str, Deployment]
    lock: threading.RLock

    def valid(self, session_id: str) -> bool:
        raise NotImplementedError

    def metadata(self, body: bytes) -> bytes:
        root = ET.fromstring(body)  # noqa: S314
        session_id = root.findtext(
            f".//{{{r.METADATA_NS}}}SessionHeader/{{{r.METADATA_NS}}}sessionId"
        )
        if not self.valid(session_id or ""):
            raise SoapFault("INVALID_SESSION_ID")
        if self.knobs.api_disabled:
            raise SoapFault("API_DISABLED_FOR_ORG")
        if self.knobs.request_limit_exceeded:
            raise SoapFault("REQUEST_LIMIT_EXCEEDED")
        request = root.find(f"{{{r.SOAPENV}}}Body/*")
        assert request is not None
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
        zipfile.ZipFile(io.BytesIO(zip_bytes)).testzip()  # a real org rejects a non-zip too
        options = request.find(f"{ns}DeployOptions")
        assert options is not None
        deployment = self._new_deployment(
            zip_bytes=zip_bytes,
            check_only=self._field(options, "checkOnly") == "true",
            test_level=self._field(options, "testLevel") or "NoTestRun",
            run_tests=[e.text or "" for e in options.iterfind(f"{ns}runTests")],
            ignore_warnings=self._field(options, "ignoreWarnings") == "true",
            rollback_on_error=self._field(options, "rollbackOnError") == "true",
        )
        return r.elements({"done": False, "id": deployment.id, "state": "Queued"})

    def _md_checkDeployStatus(self, request: ET.Element) -> str:  # noqa: N802
        deployment = self.deployments.get(self._field(request, "asyncProcessId"))
        if deployment is None:
            raise SoapFault("INVALID_ID_FIELD", "invalid id")
        with self.lock:
            self._advance(deployment)
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return r.deploy_result(deployment, now)

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
            d.status, d.done = "Canceled", True
            return
        if k.deploy_never_finishes or d.polls <= k.deploy_polls:
            fraction = d.polls / (k.deploy_polls + 1) if not k.deploy_never_finishes else 0.5
            d.status = "Pending" if d.polls == 1 and k.deploy_polls > 1 else "InProgress"
            d.components_deployed = int(d.components_total * fraction)
            d.tests_completed = int(d.tests_total * fraction)
            d.state_detail = "Processing Type: Apex Class"
            return
        d.done, d.state_detail = True, ""
        d.components_deployed = d.components_total
        d.tests_completed = d.tests_total
        if k.deploy_outcome == "component_errors":
            d.component_failures = [dict(f) for f in k.component_failures]
            d.components_deployed = d.components_total - len(d.component_failures)
            d.tests_completed = 0
            d.status = "Failed"
        elif k.deploy_outcome == "test_failures" and d.tests_total:
            d.test_failures = [dict(f) for f in k.test_failures]
            d.status = "Failed"
        else:
            d.status = "Succeeded"

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
        )
        return r._xml(deployment.id)

    def _md_cancelDeploy(self, request: ET.Element) -> str:  # noqa: N802
        deployment = self.deployments.get(self._field(request, "String"))
        if deployment is None:
            raise SoapFault("INVALID_ID_FIELD", "invalid id")
        if deployment.done:
            raise SoapFault("INVALID_ID_FIELD", "The deployment has already completed.")
        deployment.cancel_requested = True
        return r.elements({"done": False, "id": deployment.id})
