"""Jobs: work a request handed to a worker (a dry run, a request that fetches first, a deploy
whose revisions come from a remote). The call that queued one answers 202 with it; poll
`GET /jobs/{id}` until `terminal`, then read `result` (and follow `promotion` or `deployment`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status

from instances.api.common import absolute
from instances.promotions.requests import KIND, get_request_job_for
from releasemgr.access import get_job_for
from releasemgr.models import Job

router = Router(tags=["jobs"])


class JobOut(Schema):
    id: int
    title: str
    status: str = Field(description="queued, running, succeeded or failed.")
    terminal: bool
    message: str = Field(description="What happened (once it has ended), as the page says it.")
    result: dict[str, Any] = Field(
        description="What it found: for a promotion request, `direction`, `features`, and after "
        "a dry run `clean` and `conflicts` (feature key → paths); `promotion` or `deployment`: "
        "the id of what it made; `feature`: the key of the feature started."
    )
    created_at: datetime
    finished_at: datetime | None
    url: str = Field(description="This job, to poll.")
    page: str = Field(description="The job's page for a person.")
    promotion_url: str | None = None
    deployment_url: str | None = None
    feature_url: str | None = None


def job_out(request: HttpRequest, job: Job) -> dict[str, Any]:
    result = job.result or {}
    promotion, deployment = result.get("promotion"), result.get("deployment")
    feature = result.get("feature")
    return {
        "id": job.pk,
        "title": job.title,
        "status": job.status,
        "terminal": job.is_terminal,
        "message": job.message,
        "result": result,
        "created_at": job.created_at,
        "finished_at": job.finished_at,
        "url": absolute(request, f"/api/v1/jobs/{job.pk}"),
        "page": absolute(request, job.result_url or job.get_absolute_url()),
        "promotion_url": absolute(request, f"/api/v1/promotions/{promotion}")
        if promotion
        else None,
        "deployment_url": absolute(request, f"/api/v1/deployments/{deployment}")
        if deployment
        else None,
        "feature_url": absolute(request, f"/api/v1/features/{feature}") if feature else None,
    }


def accepted(request: HttpRequest, job: Job) -> Status:
    """202 Accepted, with the job to poll at its `url`."""
    return Status(202, job_out(request, job))


@router.get("/jobs/{pk}", response=JobOut, summary="A job: its status, then what it found")
def get_job(request: HttpRequest, pk: int) -> dict[str, Any]:
    job = Job.objects.filter(pk=pk).only("params").first()
    if job is not None and job.params.get("kind") == KIND:
        # A promotion request: its requester, or whoever may see the target.
        return job_out(request, get_request_job_for(request, pk))
    return job_out(request, get_job_for(request, pk))
