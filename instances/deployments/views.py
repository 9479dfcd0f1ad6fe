"""Deployments: their live page, their package, standalone redeploys."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling
from django_q.tasks import async_task

from instances.deployments import runner
from instances.deployments.forms import StandaloneDeployForm
from instances.deployments.standalone import (
    DeployRefused,
    check_window,
    queue_deployment,
    request_deployment,
)
from instances.deployments.tasks import cancel_deployment
from instances.environments.access import check_instance, get_instance_for
from instances.models import Deployment
from releasemgr.access import get_object_for, require_perm
from releasemgr.http import AuthedRequest, redirect_after_post
from releasemgr.models import AuditEvent


def get_deployment_for(request: AuthedRequest, pk: int, need: str = "view") -> Deployment:
    deployment = get_object_for(
        request,
        Deployment.objects.select_related(
            "instance", "promotion", "org_connection", "requested_by", "validation"
        ),
        pk,
        "view",
    )
    check_instance(request, deployment.instance, "view" if need == "view" else "deploy")
    return deployment


def deployment_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    deployment = get_deployment_for(request, pk)
    context = {"deployment": deployment}
    if request.htmx and request.htmx.target == "deployment-status":
        response = render(request, "instances/deployments/deployment_detail.html#status", context)
        if deployment.is_terminal:
            response.status_code = HttpResponseStopPolling.status_code
        return response
    return render(request, "instances/deployments/deployment_detail.html", context)


def package_file(deployment: Deployment) -> FileResponse:
    """The deployment's package zip as a download (the page and the API serve it alike)."""
    path = runner.artifact_path(deployment)
    if not deployment.artifact or not path.exists():
        raise Http404("This deployment kept no package.")
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"deployment-{deployment.pk}.zip",
        content_type="application/zip",
    )


def log_file(deployment: Deployment) -> FileResponse:
    """The deployment's own log as a download."""
    path = runner.log_path(deployment)
    if not path.exists():
        raise Http404("This deployment has no log yet.")
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"deployment-{deployment.pk}.log",
        content_type="text/plain; charset=utf-8",
    )


def deployment_artifact(request: AuthedRequest, pk: int) -> FileResponse:
    return package_file(get_deployment_for(request, pk))


def deployment_log(request: AuthedRequest, pk: int) -> FileResponse:
    return log_file(get_deployment_for(request, pk))


@require_POST
def deployment_cancel(request: AuthedRequest, pk: int) -> HttpResponse:
    """Ask the org to cancel a running deployment (a worker makes the call)."""
    deployment = get_deployment_for(request, pk, need="deploy")
    require_perm(request, Deployment, "change")
    if deployment.is_terminal:
        messages.error(request, f"{deployment} has ended; there is nothing to cancel.")
    else:
        async_task(
            cancel_deployment,
            deployment.pk,
            request.user.pk,
            task_name=f"cancel-deployment-{deployment.pk}",
        )
        AuditEvent.record(
            request.user,
            "deployment cancel requested",
            deployment.instance,
            {"deployment": deployment.pk},
        )
        messages.info(request, "Asked the org to cancel the deployment.")
    return redirect_after_post(request, deployment.get_absolute_url())


@require_http_methods(["GET", "POST"])
def deployment_create(request: AuthedRequest, pk: int) -> HttpResponse:
    """Redeploy a commit (or a delta) to the instance's org, outside any promotion."""
    instance = get_instance_for(request, pk, need="deploy")
    require_perm(request, Deployment, "add")
    form = StandaloneDeployForm(request.POST or None, instance=instance)
    if instance.org_connection is None:
        # Said on the page, and a POST changes nothing: there is no org to deploy to.
        return render(
            request,
            "instances/deployments/deployment_form.html",
            {"form": form, "instance": instance, "no_connection": True},
            status=409 if request.method == "POST" else 200,
        )
    if request.method == "POST" and form.is_valid():
        try:
            if instance.repository.remote_url:  # fetching is network work: a job does it
                check_window(instance, form.cleaned_data, request.user)  # and again in the job
                job = queue_deployment(instance, form.cleaned_data, request.user)
                return redirect_after_post(request, job.get_absolute_url())
            deployment = request_deployment(instance, form.cleaned_data, request.user)
        except DeployRefused as exc:
            form.add_error(None, str(exc))
        else:
            return redirect_after_post(request, deployment.get_absolute_url())
    return render(
        request, "instances/deployments/deployment_form.html", {"form": form, "instance": instance}
    )
