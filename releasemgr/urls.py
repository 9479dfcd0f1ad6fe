from django.contrib import admin
from django.urls import include, path

from releasemgr import views

urlpatterns = [
    path("", include("instances.urls")),
    path("", include("branching.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]
