"""The page of a job: its status, live until it ends, then what happened and where to go."""

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseStopPolling

from releasemgr.access import get_job_for
from releasemgr.http import AuthedRequest

TEMPLATE = "releasemgr/job_detail.html"


@require_GET
def job_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    job = get_job_for(request, pk)
    if request.htmx and request.htmx.target == "job-status":
        response = render(request, TEMPLATE + "#status", {"job": job})
        if job.is_terminal:
            response.status_code = HttpResponseStopPolling.status_code
        return response
    return render(request, TEMPLATE, {"job": job})
