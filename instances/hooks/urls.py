from django.urls import path

from instances.hooks import views
from releasemgr import ids  # noqa: F401 - registers the <id:> converter

urlpatterns = [
    path("hooks/<str:provider>/<id:repository_id>/", views.receive, name="hook_receive"),
    path("repositories/<id:pk>/hooks/", views.repository_hooks, name="repository_hooks"),
    path(
        "repositories/<id:pk>/hooks/secret/",
        views.repository_hook_secret,
        name="repository_hook_secret",
    ),
]
