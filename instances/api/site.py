"""The API object: authentication, problem documents, token attribution, the resources."""

from __future__ import annotations

from ninja import NinjaAPI, Swagger

from instances.api import (
    approvals,
    collections,
    conflicts,
    deployments,
    features,
    instances,
    jobs,
    me,
    metrics,
    problems,
    promotions,
    repositories,
    resolutions,
    rollback,
)
from instances.api.auth import AUTH, attributed, signed_in

api = NinjaAPI(
    title="releasemgr",
    version="1",
    description="Everything the pages and the command line do, for CI and scripts. "
    "Authenticate with a personal access token: `Authorization: Bearer <token>`. Errors are "
    "problem details (RFC 9457, `application/problem+json`).",
    auth=AUTH,
    urls_namespace="api-v1",
    openapi_url="/openapi.json",
    docs=Swagger(settings={"persistAuthorization": False}),
    docs_url="/docs",
    docs_decorator=signed_in,
)
problems.install(api)
# "operation" wraps each view function itself, after authentication has set request.auth.
api.add_decorator(attributed, mode="operation")
for module in (
    me,
    repositories,
    resolutions,
    instances,
    features,
    promotions,
    approvals,
    conflicts,
    rollback,
    deployments,
    collections,
    metrics,
    jobs,
):
    api.add_router("", module.router)
