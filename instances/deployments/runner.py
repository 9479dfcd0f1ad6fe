"""Deploying to an instance's org: build the package, validate or deploy it, wait, record.

Used by step 4 of a promotion and by standalone redeploys. A deployment row exists before
the org is asked anything, and it holds the org's deploy id as soon as there is one: a
resumed run polls that deployment instead of starting another (docs/design.md, invariant 4).
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from branching.git import storage
from branching.metadata import EMPTY_TREE, build_package_files
from branching.metadata.package import PackageError, check_deploy_limits
from instances import salesforce as sf
from instances.models import (
    Deployment,
    DeploymentKind,
    DeploymentStatus,
    Instance,
    OrgConnection,
    OrgType,
    TestLevel,
)

logger = logging.getLogger(__name__)

Heartbeat = Callable[[], None]


class NothingToDeploy(Exception):
    """The delta holds no metadata (only a README changed, say): no deployment is needed."""


class DeploymentFailed(Exception):
    """The org refused the package (or we could not finish); the message is for users."""

    def __init__(self, deployment: Deployment, message: str) -> None:
        self.deployment = deployment
        super().__init__(message)


def deploy_timeout() -> float:
    return float(getattr(settings, "DEPLOY_TIMEOUT_SECONDS", 3 * 3600))


def deploy_poll() -> float:
    return float(getattr(settings, "DEPLOY_POLL_SECONDS", 10))


def artifact_path(deployment: Deployment) -> Path:
    return Path(settings.ARTIFACTS_DIR) / "deployments" / f"{deployment.pk}.zip"


def log_path(deployment: Deployment) -> Path:
    return Path(settings.ARTIFACTS_DIR) / "deployments" / f"{deployment.pk}.log"


def append_log(deployment: Deployment, text: str) -> None:
    """The deployment's own log, kept beside its package under DATA_DIR."""
    path = log_path(deployment)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y-%m-%d %H:%M:%S")
    with path.open("a", encoding="utf-8") as handle:
        for line in text.splitlines() or [""]:
            handle.write(f"{stamp} {line}\n")


def build_package(
    repo: storage.Repo, from_commit: str, to_commit: str
) -> tuple[bytes, dict[str, Any]]:
    """The deploy-ready zip for the delta, and a summary (members per type, deletions)."""
    package = build_package_files(repo, from_commit or EMPTY_TREE, to_commit)
    zip_bytes = package.zip_bytes()
    check_deploy_limits(package, zip_bytes)
    summary = {
        "api_version": package.api_version,
        "members": {t: sorted(m) for t, m in package.delta.package.items()},
        "deleted": {t: sorted(m) for t, m in package.delta.destructive.items()},
        "warnings": list(package.warnings),
    }
    return zip_bytes, summary


def test_classes_in(zip_bytes: bytes) -> list[str]:
    """Apex test classes the package contains (`@isTest`): RunSpecifiedTests' default."""
    names = []
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        for name in archive.namelist():
            if name.startswith("classes/") and name.endswith(".cls"):
                source = archive.read(name).decode("utf-8", "replace").lower()
                if "@istest" in source:
                    names.append(name[len("classes/") : -len(".cls")])
    return sorted(names)


def create(
    *,
    instance: Instance,
    connection: OrgConnection,
    kind: DeploymentKind,
    from_commit: str,
    to_commit: str,
    test_level: str,
    run_tests: list[str] | None = None,
    promotion_id: int | None = None,
    requested_by_id: int | None = None,
    validation: Deployment | None = None,
) -> Deployment:
    return Deployment.objects.create(
        instance=instance,
        org_connection=connection,
        kind=kind,
        from_commit=from_commit,
        to_commit=to_commit,
        test_level=test_level,
        run_tests=run_tests or [],
        promotion_id=promotion_id,
        requested_by_id=requested_by_id,
        validation=validation,
    )


def _save(deployment: Deployment, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(deployment, name, value)
    deployment.save(update_fields=list(fields))


def _record_status(deployment: Deployment, status: sf.DeployStatus) -> None:
    _save(
        deployment,
        status=DeploymentStatus.IN_PROGRESS if not status.done else deployment.status,
        components_deployed=status.components_deployed,
        components_total=status.components_total,
        component_errors=status.component_errors,
        tests_completed=status.tests_completed,
        tests_total=status.tests_total,
        test_errors=status.test_errors,
    )


def run(
    deployment: Deployment,
    repo: storage.Repo,
    *,
    heartbeat: Heartbeat = lambda: None,
    log: Callable[[str], None] = lambda message: None,
) -> Deployment:
    """Take the deployment to a final status; raise DeploymentFailed unless it succeeded."""
    if deployment.status == DeploymentStatus.SUCCEEDED:
        return deployment
    outer_log = log

    def note(message: str) -> None:
        """The caller's log (a promotion's), and the deployment's own."""
        append_log(deployment, message)
        outer_log(message)

    try:
        org = sf.connect(
            deployment.org_connection.credentials(), ca_bundle=settings.SALESFORCE_CA_BUNDLE or None
        )
        if not deployment.sf_deploy_id:
            try:
                _start(deployment, org, repo, note)
            except NothingToDeploy:
                _save(
                    deployment,
                    status=DeploymentStatus.SUCCEEDED,
                    finished_at=timezone.now(),
                    error_message="The delta holds no metadata: nothing was deployed.",
                )
                note("The delta holds no metadata: nothing to deploy.")
                return deployment
        else:
            note(f"Resuming the wait for Salesforce deployment {deployment.sf_deploy_id}.")
        heartbeat()

        last_line = ""

        def progress(status: sf.DeployStatus) -> None:
            nonlocal last_line
            _record_status(deployment, status)
            if status.progress() != last_line:
                last_line = status.progress()
                append_log(deployment, last_line)
            heartbeat()

        final = sf.wait(
            org,
            deployment.sf_deploy_id,
            timeout=deploy_timeout(),
            poll=deploy_poll(),
            on_progress=progress,
        )
    except PackageError as exc:
        # Bad input in the repository (a deploy limit, a resource that is not an archive…):
        # the deployment fails with the reason, nothing was sent to the org.
        append_log(deployment, str(exc))
        _save(
            deployment,
            status=DeploymentStatus.FAILED,
            error_message=str(exc),
            finished_at=timezone.now(),
        )
        raise DeploymentFailed(deployment, str(exc)) from None
    except sf.SalesforceError as exc:
        append_log(deployment, exc.message)
        _save(
            deployment,
            status=DeploymentStatus.ERRORED,
            error_message=exc.message,
            finished_at=timezone.now(),
        )
        raise DeploymentFailed(deployment, exc.message) from None
    _finish(deployment, final)
    append_log(deployment, final.summary())
    outer_log(final.summary().splitlines()[0])
    if deployment.status != DeploymentStatus.SUCCEEDED:
        raise DeploymentFailed(deployment, final.summary())
    return deployment


def _start(
    deployment: Deployment, org: sf.OrgSession, repo: storage.Repo, log: Callable[[str], None]
) -> None:
    if deployment.kind == DeploymentKind.QUICK_DEPLOY:
        assert deployment.validation is not None
        _save(deployment, status=DeploymentStatus.STARTING)
        deploy_id = sf.quick_deploy(org, deployment.validation.sf_deploy_id)
        _save(deployment, sf_deploy_id=deploy_id, status=DeploymentStatus.IN_PROGRESS)
        log(
            f"Quick deploy of validation {deployment.validation.sf_deploy_id} started as "
            f"{deploy_id}."
        )
        return
    # Refused here, before the org is asked: a production org refuses NoTestRun.
    sf.check_test_level(org_type_of(deployment), deployment.test_level)
    package, summary = build_package(repo, deployment.from_commit, deployment.to_commit)
    for warning in summary["warnings"]:
        log(f"Package warning: {warning}")
    if not summary["members"] and not summary["deleted"]:
        raise NothingToDeploy()
    path = artifact_path(deployment)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(package)
    run_tests = deployment.run_tests
    if deployment.test_level == TestLevel.RUN_SPECIFIED_TESTS and not run_tests:
        run_tests = test_classes_in(package)
        if not run_tests:
            raise sf.ApiError(
                "RunSpecifiedTests was asked for, but the delta holds no Apex "
                "test class: choose the tests, or another test level."
            )
    _save(
        deployment,
        artifact=str(path.relative_to(settings.DATA_DIR)),
        package_summary=summary,
        run_tests=run_tests,
        status=DeploymentStatus.STARTING,
    )
    check_only = deployment.kind == DeploymentKind.VALIDATE
    ignore_warnings = deployment.instance.ignores_warnings(deletes=bool(summary["deleted"]))
    _save(deployment, ignore_warnings=ignore_warnings)
    deploy_id = sf.start_deploy(
        org,
        package,
        check_only=check_only,
        test_level=deployment.test_level,
        run_tests=run_tests,
        ignore_warnings=ignore_warnings,
    )
    _save(deployment, sf_deploy_id=deploy_id, status=DeploymentStatus.IN_PROGRESS)
    verb = "Validation" if check_only else "Deployment"
    warnings = ", warnings ignored" if ignore_warnings else ""
    log(f"{verb} {deploy_id} started ({deployment.get_test_level_display().lower()}{warnings}).")


def org_type_of(deployment: Deployment) -> str:
    """Production when the instance says so or the org itself did at Test connection."""
    if deployment.instance.is_production:
        return OrgType.PRODUCTION
    return deployment.org_connection.detected_org_type or deployment.instance.org_type


def _finish(deployment: Deployment, final: sf.DeployStatus) -> None:
    if final.succeeded:
        status = DeploymentStatus.SUCCEEDED
    elif final.status == sf.DeployState.CANCELED:
        status = DeploymentStatus.CANCELLED
    else:
        status = DeploymentStatus.FAILED
    _record_status(deployment, final)
    _save(
        deployment,
        status=status,
        error_message=final.error_message,
        component_failures=[f.to_json() for f in final.component_failures],
        test_failures=[f.to_json() for f in final.test_failures],
        warnings=[w.warning_json() for w in final.warnings],
        coverage=[c.to_json() for c in sorted(final.coverage, key=lambda c: (c.percent, c.name))],
        coverage_warnings=[w.to_json() for w in final.coverage_warnings],
        failure_reason=final.failure_reason(),
        finished_at=timezone.now(),
    )
