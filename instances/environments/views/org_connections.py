"""Org connection pages: connect an instance to an org, edit the connection, disconnect, test it.

Connecting a new org (a refreshed sandbox, a new scratch org) retires the previous connection,
so an instance keeps the history of the orgs behind it.
"""

from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling
from django_q.tasks import async_task

from instances.environments.access import get_instance_for, get_org_connection_for
from instances.environments.forms import OrgConnectionForm
from instances.environments.tasks import test_org_connection
from instances.models import Instance, OrgConnection
from releasemgr.access import require_perm
from releasemgr.http import AuthedRequest, redirect_after_post
from releasemgr.models import AuditEvent


def _render(
    request: AuthedRequest, form: OrgConnectionForm, title: str, instance: Instance
) -> HttpResponse:
    template = "instances/environments/orgconnection_form.html"
    if request.htmx:
        template += "#form"
    return render(request, template, {"form": form, "title": title, "instance": instance})


@require_http_methods(["GET", "POST"])
def org_connection_create(request: AuthedRequest, pk: int) -> HttpResponse:
    instance = get_instance_for(request, pk, need="deploy")
    require_perm(request, OrgConnection, "add")
    form = OrgConnectionForm(request.POST or None, instance=OrgConnection(instance=instance))
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            retired = instance.org_connections.select_for_update().filter(is_active=True)
            for old in retired:
                AuditEvent.record(request.user, "org disconnected", instance, {"org": str(old)})
            retired.update(is_active=False, retired_at=timezone.now())
            connection = form.save(commit=False)
            connection.created_by = request.user
            connection.save()
            AuditEvent.record(request.user, "org connected", instance, {"org": str(connection)})
        messages.success(request, f"“{instance}” is now connected as {connection}.")
        return redirect_after_post(request, instance.get_absolute_url())
    return _render(request, form, f"Connect an org to {instance.name}", instance)


@require_http_methods(["GET", "POST"])
def org_connection_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    connection = get_org_connection_for(request, pk, need="change")
    instance = connection.instance
    form = OrgConnectionForm(request.POST or None, instance=connection)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
            AuditEvent.record(
                request.user,
                "org connection changed",
                instance,
                {"org": str(connection), "fields": form.changed_data},
            )
        messages.success(request, "Org connection saved.")
        return redirect_after_post(request, instance.get_absolute_url())
    return _render(request, form, f"Edit the org connection of {instance.name}", instance)


@require_POST
def org_connection_retire(request: AuthedRequest, pk: int) -> HttpResponse:
    connection = get_org_connection_for(request, pk, need="change")
    if connection.is_active:
        connection.is_active = False
        connection.retired_at = timezone.now()
        connection.save(update_fields=["is_active", "retired_at"])
        AuditEvent.record(
            request.user, "org disconnected", connection.instance, {"org": str(connection)}
        )
        messages.success(request, f"“{connection.instance}” has no org connection now.")
    return redirect_after_post(request, connection.instance.get_absolute_url())


@require_POST
def org_connection_test(request: AuthedRequest, pk: int) -> HttpResponse:
    """Queue "Test connection": logging in can take seconds, so a worker does it."""
    connection = get_org_connection_for(request, pk, need="change")
    connection.check_requested_at = timezone.now()
    connection.save(update_fields=["check_requested_at"])
    async_task(
        test_org_connection,
        connection.pk,
        task_name=f"test-connection-{connection.pk}",
    )
    messages.info(request, "Testing the connection…")
    return redirect_after_post(request, connection.instance.get_absolute_url())


def org_connection_status(request: AuthedRequest, pk: int) -> HttpResponse:
    """The connection's facts, polled by the instance page while a test is under way."""
    connection = get_org_connection_for(request, pk)
    response = render(
        request, "instances/environments/includes/org_facts.html", {"connection": connection}
    )
    if not connection.check_pending:
        response.status_code = HttpResponseStopPolling.status_code
    return response
