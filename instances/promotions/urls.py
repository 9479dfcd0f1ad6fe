from django.urls import path

from instances.promotions.views import (
    features,
    promotion_request,
    promotions,
    resolutions,
    windows,
)

urlpatterns = [
    path("features/", features.feature_list, name="feature_list"),
    path("features/new/", features.feature_create, name="feature_create"),
    path("features/<str:key>/", features.feature_detail, name="feature_detail"),
    path("promotions/", promotions.promotion_list, name="promotion_list"),
    path("promotions/new/", promotion_request.promotion_create, name="promotion_create"),
    path("promotions/<int:pk>/", promotions.promotion_detail, name="promotion_detail"),
    path("promotions/<int:pk>/approve/", promotions.promotion_approve, name="promotion_approve"),
    path("promotions/<int:pk>/reject/", promotions.promotion_reject, name="promotion_reject"),
    path("promotions/<int:pk>/cancel/", promotions.promotion_cancel, name="promotion_cancel"),
    path("promotions/<int:pk>/retry/", promotions.promotion_retry, name="promotion_retry"),
    path("promotions/<int:pk>/resolve/", promotions.promotion_resolve, name="promotion_resolve"),
    path("promotions/<int:pk>/override/", promotions.promotion_override, name="promotion_override"),
    path("promotions/<int:pk>/rollback/", promotions.promotion_rollback, name="promotion_rollback"),
    # Recorded conflict resolutions, beside the repository's pages.
    path(
        "repositories/<int:pk>/resolutions/",
        resolutions.resolution_list,
        name="recorded_resolution_list",
    ),
    path(
        "repositories/<int:pk>/resolutions/<int:resolution_id>/",
        resolutions.resolution_detail,
        name="recorded_resolution_detail",
    ),
    path(
        "repositories/<int:pk>/resolutions/<int:resolution_id>/forget/",
        resolutions.resolution_forget,
        name="recorded_resolution_forget",
    ),
]

# Windows and freezes: of one instance, or of every instance of a repository.
for _prefix, _kind in (("instances", "instance"), ("repositories", "repository")):
    urlpatterns += [
        path(
            f"{_prefix}/<int:pk>/windows/",
            windows.windows_page,
            {"kind": _kind},
            name=f"{_kind}_windows",
        ),
        path(
            f"{_prefix}/<int:pk>/windows/add/",
            windows.window_add,
            {"kind": _kind},
            name=f"{_kind}_window_add",
        ),
        path(
            f"{_prefix}/<int:pk>/windows/<int:window_id>/delete/",
            windows.window_delete,
            {"kind": _kind},
            name=f"{_kind}_window_delete",
        ),
        path(
            f"{_prefix}/<int:pk>/freeze/",
            windows.freeze_now,
            {"kind": _kind},
            name=f"{_kind}_freeze",
        ),
        path(
            f"{_prefix}/<int:pk>/freezes/<int:freeze_id>/lift/",
            windows.freeze_lift,
            {"kind": _kind},
            name=f"{_kind}_freeze_lift",
        ),
    ]
