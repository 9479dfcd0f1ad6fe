"""Deployments: list, one deployment with progress and failures, its package and its log, and
starting a standalone deployment to an instance's org (the deploy page's form and function)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import FileResponse, HttpRequest
from ninja import Query, Router, Schema
from ninja.responses import Status

from instances.api.auth import acting, need
from instances.api.common import (
    InstanceRef,
    Page,
    Paging,
    UserRef,
    absolute,
    form_data,
    instance_ref,
    paginate,
    user_ref,
)
from instances.api.jobs import JobOut, accepted
from instances.api.problems import Problem, form_problem
from instances.deployments.forms import StandaloneDeployForm
from instances.deployments.standalone import DeployRefused, queue_deployment, request_deployment
from instances.deployments.views import get_deployment_for, log_file, package_file
from instances.environments.access import get_instance_for
from instances.environments.permissions import visible_instances
from instances.models import Deployment, DeploymentStatus
from releasemgr.access import require_perm
from releasemgr.ids import Id
from releasemgr.models import Scope

router = Router(tags=["deployments"])


class DeploymentFilters(Schema):
    instance: Id | None = None
    status: DeploymentStatus | None = None
    promotion: Id | None = None


class DeploymentOut(Schema):
    id: int
    instance: InstanceRef
    promotion_id: int | None
    kind: str
    status: str
    test_level: str
    run_tests: list[str]
    from_commit: str
    to_commit: str
    sf_deploy_id: str
    components_deployed: int
    components_total: int
    component_errors: int
    tests_completed: int
    tests_total: int
    test_errors: int
    percent: int
    requested_by: UserRef | None
    created_at: datetime
    finished_at: datetime | None
    url: str


class DeploymentDetail(DeploymentOut):
    component_failures: list[Any]
    test_failures: list[Any]
    error_message: str
    package_summary: dict[str, Any]
    package_url: str | None
    log_url: str


class DeployRequest(Schema):
    revision: str
    from_revision: str = ""
    kind: str = "deploy"
    test_level: str
    run_tests: str = ""
    # Into a closed instance: a release manager's written reason to deploy anyway.
    override_justification: str = ""


def deployment_out(request: HttpRequest, deployment: Deployment) -> dict[str, Any]:
    return {
        "id": deployment.pk,
        "instance": instance_ref(deployment.instance),
        "promotion_id": deployment.promotion_id,
        "kind": deployment.kind,
        "status": deployment.status,
        "test_level": deployment.test_level,
        "run_tests": list(deployment.run_tests or []),
        "from_commit": deployment.from_commit,
        "to_commit": deployment.to_commit,
        "sf_deploy_id": deployment.sf_deploy_id,
        "components_deployed": deployment.components_deployed,
        "components_total": deployment.components_total,
        "component_errors": deployment.component_errors,
        "tests_completed": deployment.tests_completed,
        "tests_total": deployment.tests_total,
        "test_errors": deployment.test_errors,
        "percent": deployment.percent,
        "requested_by": user_ref(deployment.requested_by),
        "created_at": deployment.created_at,
        "finished_at": deployment.finished_at,
        "url": absolute(request, deployment.get_absolute_url()),
    }


def deployment_detail(request: HttpRequest, deployment: Deployment) -> dict[str, Any]:
    base = f"/api/v1/deployments/{deployment.pk}"
    return {
        **deployment_out(request, deployment),
        "component_failures": list(deployment.component_failures or []),
        "test_failures": list(deployment.test_failures or []),
        "error_message": deployment.error_message,
        "package_summary": dict(deployment.package_summary or {}),
        "package_url": absolute(request, f"{base}/package") if deployment.artifact else None,
        "log_url": absolute(request, f"{base}/log"),
    }


@router.get("/deployments", response=Page[DeploymentOut], summary="List deployments")
def list_deployments(
    request: HttpRequest, paging: Query[Paging], filters: Query[DeploymentFilters]
) -> dict[str, Any]:
    require_perm(request, Deployment, "view")
    deployments = (
        Deployment.objects.filter(instance__in=visible_instances(request.user))
        .select_related("instance", "requested_by")
        .order_by("-id")
    )
    if filters.instance is not None:
        deployments = deployments.filter(instance_id=filters.instance)
    if filters.status:
        deployments = deployments.filter(status=filters.status)
    if filters.promotion is not None:
        deployments = deployments.filter(promotion_id=filters.promotion)
    return paginate(
        request, deployments, paging, lambda rows: (deployment_out(request, d) for d in rows)
    )


@router.get("/deployments/{pk}", response=DeploymentDetail, summary="One deployment")
def get_deployment(request: HttpRequest, pk: int) -> dict[str, Any]:
    return deployment_detail(request, get_deployment_for(request, pk))  # type: ignore[arg-type]


@router.get(
    "/deployments/{pk}/package",
    summary="The deployment's package (a zip)",
    openapi_extra={
        "responses": {200: {"description": "The zip", "content": {"application/zip": {}}}}
    },
)
def get_package(request: HttpRequest, pk: int) -> FileResponse:
    return package_file(get_deployment_for(request, pk))  # type: ignore[arg-type]


@router.get(
    "/deployments/{pk}/log",
    summary="The deployment's own log (text)",
    openapi_extra={"responses": {200: {"description": "The log", "content": {"text/plain": {}}}}},
)
def get_deployment_log(request: HttpRequest, pk: int) -> FileResponse:
    return log_file(get_deployment_for(request, pk))  # type: ignore[arg-type]


@router.post(
    "/instances/{pk}/deployments",
    response={201: DeploymentDetail, 202: JobOut},
    summary="Deploy (or validate) a revision to the instance's org, outside any promotion",
    description="The revisions are resolved in the repository's storage. When the repository "
    "has a remote, that needs a fetch first, which a worker does: the answer is 202 with the "
    "job; poll `GET /jobs/{id}` until `terminal`; its `result.deployment` (and "
    "`deployment_url`) is the deployment, or its `message` says why there is none. Without a "
    "remote, 201 with the deployment.",
)
def create_deployment(request: HttpRequest, pk: int, body: DeployRequest) -> Status:
    need(request, Scope.MANAGE)
    instance = get_instance_for(request, pk, need="deploy")
    require_perm(request, Deployment, "add")
    form = StandaloneDeployForm(form_data(body.dict()), instance=instance)
    if not form.is_valid():
        raise form_problem(form)
    if instance.repository.remote_url:  # fetching is network work: a job does it
        return accepted(request, queue_deployment(instance, form.cleaned_data, acting(request)))
    try:
        deployment = request_deployment(instance, form.cleaned_data, acting(request))
    except DeployRefused as exc:
        raise Problem(409, str(exc)) from None
    return Status(201, deployment_detail(request, deployment))
