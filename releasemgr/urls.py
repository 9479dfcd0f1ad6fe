from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.urls import include, path

from releasemgr import (
    ids,  # noqa: F401 - registers the <id:> converter
    job_views,
    token_views,
    views,
)
from releasemgr.throttle import ThrottledAuthenticationForm

urlpatterns = [
    path("", include("instances.urls")),
    path("", include("branching.urls")),
    path("", include("instances.notifications.urls")),
    path("", include("instances.hooks.urls")),
    path("", include("instances.gitserve.urls")),
    path("healthz", views.healthz, name="healthz"),
    path(
        "accounts/login/",
        LoginView.as_view(authentication_form=ThrottledAuthenticationForm),
        name="login",
    ),
    path("jobs/<id:pk>/", job_views.job_detail, name="job_detail"),
    path("settings/tokens/", token_views.token_list, name="token_list"),
    path("settings/tokens/<id:pk>/revoke/", token_views.token_revoke, name="token_revoke"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]
