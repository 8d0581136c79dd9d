from django.urls import path

from production.api import views

# The spec's paths, without a trailing slash.
urlpatterns = [
    path("production", views.OrderCollectionView.as_view(), name="api-orders"),
    path("production/<str:order_id>", views.OrderDetailView.as_view(), name="api-order-detail"),
]
