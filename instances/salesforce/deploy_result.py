"""What a deployment reports: checkDeployStatus's DeployResult, typed (`DeployStatus` with its
component failures, test failures, coverage and warnings), the lines users read about it
(progress, summary, why it failed), and the parser. The calls that ask for it: `deploy.py`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from instances.salesforce.session import METADATA_NS

_NS = f"{{{METADATA_NS}}}"
COVERAGE_REQUIRED = 75  # per cent of each class (RunSpecifiedTests) or of the org, production


class DeployState(StrEnum):
    PENDING = "Pending"
    IN_PROGRESS = "InProgress"
    SUCCEEDED = "Succeeded"
    SUCCEEDED_PARTIAL = "SucceededPartial"
    FAILED = "Failed"
    CANCELING = "Canceling"
    CANCELED = "Canceled"


@dataclass(frozen=True)
class ComponentFailure:
    """A DeployMessage with success=false: one component the org refused."""

    component_type: str
    full_name: str
    file_name: str
    line: int | None
    column: int | None
    problem: str
    problem_type: str  # Error or Warning

    def __str__(self) -> str:
        where = self.file_name or f"{self.component_type} {self.full_name}"
        if self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        return f"{where}: {self.problem}"

    def to_json(self) -> dict[str, Any]:
        """As a deployment records it (and the pages and the API show it)."""
        return {
            "type": self.component_type,
            "name": self.full_name,
            "file": self.file_name,
            "line": self.line,
            "column": self.column,
            "problem": self.problem,
            "problem_type": self.problem_type,
        }

    def warning_json(self) -> dict[str, Any]:
        """A warning is recorded by its component and message only."""
        recorded = self.to_json()
        return {key: recorded[key] for key in ("type", "name", "file", "problem")}


@dataclass(frozen=True)
class CodeCoverage:
    """A CodeCoverageResult: how many of an Apex class's or trigger's lines the tests ran."""

    name: str
    kind: str  # Class or Trigger
    locations: int
    not_covered: int
    namespace: str = ""

    @property
    def percent(self) -> int:
        """Covered lines in whole per cent, rounded down as Salesforce rounds."""
        if not self.locations:
            return 100
        return (100 * (self.locations - self.not_covered)) // self.locations

    @property
    def below_requirement(self) -> bool:
        return self.locations > 0 and self.percent < COVERAGE_REQUIRED

    def __str__(self) -> str:
        covered = self.locations - self.not_covered
        return f"{self.name}: {self.percent}% ({covered}/{self.locations} lines)"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "locations": self.locations,
            "not_covered": self.not_covered,
            "percent": self.percent,
            "low": self.below_requirement,
        }


@dataclass(frozen=True)
class CoverageWarning:
    """A CodeCoverageWarning: why the org refuses the coverage. `name` is empty for the
    org-wide average."""

    name: str
    message: str
    namespace: str = ""

    def __str__(self) -> str:
        return f"{self.name}: {self.message}" if self.name else self.message

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "message": self.message}


@dataclass(frozen=True)
class TestFailure:
    """A RunTestFailure: one Apex test method that failed."""

    __test__ = False

    class_name: str
    method: str
    message: str
    stack_trace: str
    namespace: str = ""

    def __str__(self) -> str:
        return f"{self.class_name}.{self.method}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {
            "class": self.class_name,
            "method": self.method,
            "message": self.message,
            "stack": self.stack_trace,
        }


@dataclass(frozen=True)
class DeployStatus:
    """A DeployResult, typed. `done` is the only field that says whether to keep polling."""

    id: str
    done: bool
    status: str  # a DeployState value (kept as str: Salesforce may add states)
    success: bool
    check_only: bool
    state_detail: str
    error_message: str
    error_status_code: str
    components_deployed: int
    components_total: int
    component_errors: int
    tests_completed: int
    tests_total: int
    test_errors: int
    component_failures: tuple[ComponentFailure, ...] = ()
    test_failures: tuple[TestFailure, ...] = ()
    coverage_warnings: tuple[CoverageWarning, ...] = ()
    coverage: tuple[CodeCoverage, ...] = ()
    # DeployMessages with problemType Warning, from the failures (ignoreWarnings off: they
    # fail the deployment) and from the successes (ignoreWarnings on).
    warnings: tuple[ComponentFailure, ...] = ()
    canceled_by: str = ""

    @property
    def succeeded(self) -> bool:
        """Succeeded only: SucceededPartial (rollbackOnError off) left components out."""
        return self.done and self.status == DeployState.SUCCEEDED

    @property
    def low_coverage(self) -> tuple[CodeCoverage, ...]:
        """Classes and triggers the tests cover below Salesforce's 75 %."""
        return tuple(c for c in self.coverage if c.below_requirement)

    @property
    def failed_on_coverage(self) -> bool:
        """Failed with no component error and no test failure: the coverage was the reason."""
        return (
            self.done
            and self.status == DeployState.FAILED
            and not self.component_failures
            and not self.test_failures
            and bool(self.coverage_warnings)
        )

    def failure_reason(self) -> str:
        """One line on why a finished deployment did not succeed ("" when it did)."""
        if self.succeeded or not self.done:
            return ""
        if self.status == DeployState.CANCELED:
            by = f" by {self.canceled_by}" if self.canceled_by else ""
            return f"Canceled{by}."
        parts = []
        errors = [f for f in self.component_failures if f.problem_type != "Warning"]
        warned = [f for f in self.component_failures if f.problem_type == "Warning"]
        if errors:
            parts.append(f"{len(errors)} component error{'s' * (len(errors) != 1)}")
        if warned:
            parts.append(
                f"{len(warned)} warning{'s' * (len(warned) != 1)} treated as errors "
                "(ignoreWarnings is off)"
            )
        if self.test_failures:
            count = len(self.test_failures)
            parts.append(f"{count} test failure{'s' * (count != 1)}")
        if self.coverage_warnings:
            low = ", ".join(str(c) for c in self.low_coverage)
            parts.append(
                "code coverage below Salesforce's requirement"
                + (f" ({low})" if low else "")
                + ": "
                + "; ".join(str(w) for w in self.coverage_warnings)
            )
        if self.status == DeployState.SUCCEEDED_PARTIAL:
            parts.insert(0, "only partly deployed (rollbackOnError was off)")
        if not parts:
            parts.append(self.error_message or f"the org reported {self.status}")
        text = "; ".join(parts)
        text = text[0].upper() + text[1:]
        return text if text.endswith(".") else text + "."

    def progress(self) -> str:
        """One line for a progress log: "InProgress: 12/40 components, 3/10 tests"."""
        text = f"{self.status}: {self.components_deployed}/{self.components_total} components"
        if self.component_errors:
            text += f" ({self.component_errors} errors)"
        if self.tests_total:
            text += f", {self.tests_completed}/{self.tests_total} tests"
            if self.test_errors:
                text += f" ({self.test_errors} failed)"
        if self.state_detail and not self.done:
            text += f" — {self.state_detail}"
        return text

    def summary(self) -> str:
        """What a user reads about a finished deployment."""
        verb = "Validation" if self.check_only else "Deployment"
        if self.succeeded:
            return f"{verb} {self.id} succeeded: {self.progress().partition(': ')[2]}."
        lines = [f"{verb} {self.id} {self.status.lower()}: {self.progress().partition(': ')[2]}."]
        if self.error_message:
            lines.append(self.error_message)
        if self.failed_on_coverage:
            lines.append(self.failure_reason())
        lines += [f"• {failure}" for failure in self.component_failures]
        lines += [f"• Test {failure}" for failure in self.test_failures]
        lines += [f"• Coverage: {warning}" for warning in self.coverage_warnings]
        lines += [f"• Coverage: {c}" for c in self.low_coverage]
        return "\n".join(lines)


# --------------------------------------------------------------------------- parsing


def _text(element: ET.Element, name: str) -> str:
    return (element.findtext(f"{_NS}{name}") or "").strip()


def _int(element: ET.Element, name: str) -> int:
    try:
        return int(_text(element, name))
    except ValueError:
        return 0


def _optional_int(element: ET.Element, name: str) -> int | None:
    try:
        return int(_text(element, name))
    except ValueError:
        return None


def _message(message: ET.Element, clean: Callable[[str], str]) -> ComponentFailure:
    return ComponentFailure(
        component_type=_text(message, "componentType"),
        full_name=_text(message, "fullName"),
        file_name=_text(message, "fileName"),
        line=_optional_int(message, "lineNumber"),
        column=_optional_int(message, "columnNumber"),
        problem=clean(_text(message, "problem")),
        problem_type=_text(message, "problemType") or "Error",
    )


def parse_deploy_result(
    result: ET.Element, clean: Callable[[str], str] = lambda text: text
) -> DeployStatus:
    """A DeployResult element as a DeployStatus; `clean` redacts text the org sent.

    Counts are not trusted over lists: real orgs report component failures with
    numberComponentErrors=0, and leave nillable fields as `xsi:nil` (read as empty).
    """
    component_failures = tuple(
        _message(failure, clean)
        for failure in result.iterfind(f"{_NS}details/{_NS}componentFailures")
    )
    warnings = tuple(f for f in component_failures if f.problem_type == "Warning") + tuple(
        message
        for message in (
            _message(success, clean)
            for success in result.iterfind(f"{_NS}details/{_NS}componentSuccesses")
        )
        if message.problem and message.problem_type == "Warning"
    )
    test_failures = tuple(
        TestFailure(
            class_name=_text(failure, "name"),
            method=_text(failure, "methodName"),
            message=clean(_text(failure, "message")),
            stack_trace=clean(_text(failure, "stackTrace")),
            namespace=_text(failure, "namespace"),
        )
        for failure in result.iterfind(f"{_NS}details/{_NS}runTestResult/{_NS}failures")
    )
    tests = f"{_NS}details/{_NS}runTestResult/"
    coverage_warnings = tuple(
        CoverageWarning(
            name=_text(warning, "name"),
            message=clean(_text(warning, "message")),
            namespace=_text(warning, "namespace"),
        )
        for warning in result.iterfind(f"{tests}{_NS}codeCoverageWarnings")
    )
    coverage = tuple(
        CodeCoverage(
            name=_text(entry, "name"),
            kind=_text(entry, "type") or "Class",
            locations=_int(entry, "numLocations"),
            not_covered=_int(entry, "numLocationsNotCovered"),
            namespace=_text(entry, "namespace"),
        )
        for entry in result.iterfind(f"{tests}{_NS}codeCoverage")
    )
    errors = sum(1 for f in component_failures if f.problem_type != "Warning")
    return DeployStatus(
        id=_text(result, "id"),
        done=_text(result, "done") == "true",
        status=_text(result, "status"),
        success=_text(result, "success") == "true",
        check_only=_text(result, "checkOnly") == "true",
        state_detail=clean(_text(result, "stateDetail")),
        error_message=clean(_text(result, "errorMessage")),
        error_status_code=_text(result, "errorStatusCode"),
        components_deployed=_int(result, "numberComponentsDeployed"),
        components_total=_int(result, "numberComponentsTotal"),
        component_errors=max(_int(result, "numberComponentErrors"), errors),
        tests_completed=_int(result, "numberTestsCompleted"),
        tests_total=_int(result, "numberTestsTotal"),
        test_errors=_int(result, "numberTestErrors"),
        component_failures=component_failures,
        test_failures=test_failures,
        coverage_warnings=coverage_warnings,
        coverage=coverage,
        warnings=warnings,
        canceled_by=clean(_text(result, "canceledByName")),
    )
