from django.urls import path

from instances.promotions.views import features, promotion_request, promotions

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
]
