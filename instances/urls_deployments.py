from django.urls import path

from instances.views import deployments

urlpatterns = [
    path("deployments/<int:pk>/", deployments.deployment_detail, name="deployment_detail"),
    path(
        "deployments/<int:pk>/package.zip",
        deployments.deployment_artifact,
        name="deployment_artifact",
    ),
    path("deployments/<int:pk>/log.txt", deployments.deployment_log, name="deployment_log"),
    path("deployments/<int:pk>/cancel/", deployments.deployment_cancel, name="deployment_cancel"),
    path("instances/<int:pk>/deploy/", deployments.deployment_create, name="deployment_create"),
    path(
        "org-connections/<int:pk>/test/",
        deployments.org_connection_test,
        name="org_connection_test",
    ),
    path(
        "org-connections/<int:pk>/status/",
        deployments.org_connection_status,
        name="org_connection_status",
    ),
]
