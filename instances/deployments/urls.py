from django.urls import path

from instances.deployments import views

urlpatterns = [
    path("deployments/<int:pk>/", views.deployment_detail, name="deployment_detail"),
    path(
        "deployments/<int:pk>/package.zip",
        views.deployment_artifact,
        name="deployment_artifact",
    ),
    path("deployments/<int:pk>/log.txt", views.deployment_log, name="deployment_log"),
    path("deployments/<int:pk>/cancel/", views.deployment_cancel, name="deployment_cancel"),
    path("instances/<int:pk>/deploy/", views.deployment_create, name="deployment_create"),
]
