from django.urls import path

from instances.gitserve import views

urlpatterns = [
    path("git/<slug:storage>.git/<path:path>", views.serve, name="git_serve"),
]
