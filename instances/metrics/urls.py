from django.urls import path

from instances.metrics import views

urlpatterns = [
    path("metrics/", views.metrics, name="metrics"),
    path("metrics/metrics.csv", views.metrics_csv, name="metrics_csv"),
    path("metrics/charts/<slug:name>.svg", views.metrics_chart, name="metrics_chart"),
]
