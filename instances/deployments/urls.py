from django.urls import path

from instances.deployments import views
from releasemgr import ids  # noqa: F401 - registers the <id:> converter

urlpatterns = [
    path("deployments/<id:pk>/", views.deployment_detail, name="deployment_detail"),
    path(
        "deployments/<id:pk>/package.zip",
        views.deployment_artifact,
        name="deployment_artifact",
    ),
    path("deployments/<id:pk>/log.txt", views.deployment_log, name="deployment_log"),
    path("deployments/<id:pk>/cancel/", views.deployment_cancel, name="deployment_cancel"),
    path("instances/<id:pk>/deploy/", views.deployment_create, name="deployment_create"),
]
