from django.urls import path

from instances.promotions.views import (
    features,
    promotion_request,
    promotions,
    resolutions,
    windows,
)
from releasemgr import ids  # noqa: F401 - registers the <id:> converter

urlpatterns = [
    path("features/", features.feature_list, name="feature_list"),
    path("features/new/", features.feature_create, name="feature_create"),
    path("features/<str:key>/", features.feature_detail, name="feature_detail"),
    path("promotions/", promotions.promotion_list, name="promotion_list"),
    path("promotions/new/", promotion_request.promotion_create, name="promotion_create"),
    path("promotions/<id:pk>/", promotions.promotion_detail, name="promotion_detail"),
    path("promotions/<id:pk>/approve/", promotions.promotion_approve, name="promotion_approve"),
    path("promotions/<id:pk>/reject/", promotions.promotion_reject, name="promotion_reject"),
    path("promotions/<id:pk>/cancel/", promotions.promotion_cancel, name="promotion_cancel"),
    path("promotions/<id:pk>/retry/", promotions.promotion_retry, name="promotion_retry"),
    path("promotions/<id:pk>/resolve/", promotions.promotion_resolve, name="promotion_resolve"),
    path("promotions/<id:pk>/override/", promotions.promotion_override, name="promotion_override"),
    path("promotions/<id:pk>/rollback/", promotions.promotion_rollback, name="promotion_rollback"),
    # Recorded conflict resolutions, beside the repository's pages.
    path(
        "repositories/<id:pk>/resolutions/",
        resolutions.resolution_list,
        name="recorded_resolution_list",
    ),
    path(
        "repositories/<id:pk>/resolutions/<id:resolution_id>/",
        resolutions.resolution_detail,
        name="recorded_resolution_detail",
    ),
    path(
        "repositories/<id:pk>/resolutions/<id:resolution_id>/forget/",
        resolutions.resolution_forget,
        name="recorded_resolution_forget",
    ),
]

# Windows and freezes: of one instance, or of every instance of a repository.
for _prefix, _kind in (("instances", "instance"), ("repositories", "repository")):
    urlpatterns += [
        path(
            f"{_prefix}/<id:pk>/windows/",
            windows.windows_page,
            {"kind": _kind},
            name=f"{_kind}_windows",
        ),
        path(
            f"{_prefix}/<id:pk>/windows/add/",
            windows.window_add,
            {"kind": _kind},
            name=f"{_kind}_window_add",
        ),
        path(
            f"{_prefix}/<id:pk>/windows/<id:window_id>/delete/",
            windows.window_delete,
            {"kind": _kind},
            name=f"{_kind}_window_delete",
        ),
        path(
            f"{_prefix}/<id:pk>/freeze/",
            windows.freeze_now,
            {"kind": _kind},
            name=f"{_kind}_freeze",
        ),
        path(
            f"{_prefix}/<id:pk>/freezes/<id:freeze_id>/lift/",
            windows.freeze_lift,
            {"kind": _kind},
            name=f"{_kind}_freeze_lift",
        ),
    ]
