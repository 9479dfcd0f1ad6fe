from django.urls import path

from instances.hooks import views

urlpatterns = [
    path("hooks/<str:provider>/<int:repository_id>/", views.receive, name="hook_receive"),
    path("repositories/<int:pk>/hooks/", views.repository_hooks, name="repository_hooks"),
    path(
        "repositories/<int:pk>/hooks/secret/",
        views.repository_hook_secret,
        name="repository_hook_secret",
    ),
]
