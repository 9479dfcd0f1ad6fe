from django.urls import path

from branching.views import collections, repositories
from releasemgr import ids  # noqa: F401 - registers the <id:> converter

urlpatterns = [
    path("repositories/", repositories.repository_list, name="repository_list"),
    path("repositories/new/", repositories.repository_create, name="repository_create"),
    path("repositories/<id:pk>/", repositories.repository_detail, name="repository_detail"),
    path("repositories/<id:pk>/edit/", repositories.repository_edit, name="repository_edit"),
    path("collections/", collections.collection_list, name="collection_list"),
    path("collections/new/", collections.collection_create, name="collection_create"),
    path("collections/<id:pk>/", collections.collection_detail, name="collection_detail"),
    path("collections/<id:pk>/edit/", collections.collection_edit, name="collection_edit"),
]
