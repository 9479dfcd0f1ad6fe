from django.urls import path

from instances.notifications import views
from releasemgr import ids  # noqa: F401 - registers the <id:> converter

urlpatterns = [
    path("notifications/", views.subscription_list, name="subscription_list"),
    path(
        "notifications/subscriptions/<id:pk>/delete/",
        views.subscription_delete,
        name="subscription_delete",
    ),
    path("notifications/endpoints/new/", views.endpoint_create, name="endpoint_create"),
    path("notifications/endpoints/<id:pk>/delete/", views.endpoint_delete, name="endpoint_delete"),
    path("notifications/deliveries/", views.delivery_list, name="delivery_list"),
]
