from django.urls import path

from branching import views

urlpatterns = [
    path("repositories/", views.repository_list, name="repository_list"),
    path("repositories/new/", views.repository_create, name="repository_create"),
    path("repositories/<int:pk>/", views.repository_detail, name="repository_detail"),
    path("repositories/<int:pk>/edit/", views.repository_edit, name="repository_edit"),
]
