"""The app's pages, one URL module per subdomain."""

from django.urls import include, path

urlpatterns = [
    path("", include("instances.environments.urls")),
    path("", include("instances.promotions.urls")),
    path("", include("instances.deployments.urls")),
    path("", include("instances.metrics.urls")),
    path("", include("instances.api.urls")),
]
