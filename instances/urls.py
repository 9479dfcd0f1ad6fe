from django.urls import path

from instances.views import (
    dashboard,
    features,
    instances,
    org_connections,
    promotion_request,
    promotions,
)

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("instances/", instances.instance_list, name="instance_list"),
    path("instances/new/", instances.instance_create, name="instance_create"),
    path("instances/<int:pk>/", instances.instance_detail, name="instance_detail"),
    path("instances/<int:pk>/edit/", instances.instance_edit, name="instance_edit"),
    path(
        "instances/<int:pk>/branch/",
        instances.instance_create_branch,
        name="instance_create_branch",
    ),
    path("instances/<int:pk>/parent/", instances.instance_reparent, name="instance_reparent"),
    path("instances/<int:pk>/delete/", instances.instance_delete, name="instance_delete"),
    path(
        "instances/<int:pk>/org/connect/",
        org_connections.org_connection_create,
        name="org_connection_create",
    ),
    path(
        "org-connections/<int:pk>/edit/",
        org_connections.org_connection_edit,
        name="org_connection_edit",
    ),
    path(
        "org-connections/<int:pk>/retire/",
        org_connections.org_connection_retire,
        name="org_connection_retire",
    ),
    path("features/", features.feature_list, name="feature_list"),
    path("features/new/", features.feature_create, name="feature_create"),
    path("features/<str:key>/", features.feature_detail, name="feature_detail"),
    path("promotions/", promotions.promotion_list, name="promotion_list"),
    path("promotions/new/", promotion_request.promotion_create, name="promotion_create"),
    path("promotions/<int:pk>/", promotions.promotion_detail, name="promotion_detail"),
    path("promotions/<int:pk>/approve/", promotions.promotion_approve, name="promotion_approve"),
    path("promotions/<int:pk>/reject/", promotions.promotion_reject, name="promotion_reject"),
    path("promotions/<int:pk>/cancel/", promotions.promotion_cancel, name="promotion_cancel"),
    path("promotions/<int:pk>/retry/", promotions.promotion_retry, name="promotion_retry"),
    path("promotions/<int:pk>/resolve/", promotions.promotion_resolve, name="promotion_resolve"),
]
