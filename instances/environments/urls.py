from django.urls import path

from instances.environments.views import dashboard, grants, instances, org_connections
from releasemgr import ids  # noqa: F401 - registers the <id:> converter

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("instances/", instances.instance_list, name="instance_list"),
    path("instances/new/", instances.instance_create, name="instance_create"),
    path("instances/<id:pk>/", instances.instance_detail, name="instance_detail"),
    path("instances/<id:pk>/edit/", instances.instance_edit, name="instance_edit"),
    path(
        "instances/<id:pk>/branch/",
        instances.instance_create_branch,
        name="instance_create_branch",
    ),
    path("instances/<id:pk>/parent/", instances.instance_reparent, name="instance_reparent"),
    path("instances/<id:pk>/delete/", instances.instance_delete, name="instance_delete"),
    path(
        "instances/<id:pk>/org/connect/",
        org_connections.org_connection_create,
        name="org_connection_create",
    ),
    path(
        "org-connections/<id:pk>/edit/",
        org_connections.org_connection_edit,
        name="org_connection_edit",
    ),
    path(
        "org-connections/<id:pk>/retire/",
        org_connections.org_connection_retire,
        name="org_connection_retire",
    ),
    path(
        "org-connections/<id:pk>/test/",
        org_connections.org_connection_test,
        name="org_connection_test",
    ),
    path(
        "org-connections/<id:pk>/status/",
        org_connections.org_connection_status,
        name="org_connection_status",
    ),
    path("instances/<id:pk>/access/", grants.instance_access, name="instance_access"),
    path("instances/<id:pk>/grants/add/", grants.grant_add, name="grant_add"),
    path(
        "instances/<id:pk>/grants/<id:grant_id>/delete/",
        grants.grant_delete,
        name="grant_delete",
    ),
    path("instances/<id:pk>/policy/", grants.policy_save, name="policy_save"),
]
