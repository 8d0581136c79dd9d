from django.urls import path

from production.api import proof_views, shipment_views, views

# The spec's paths, without a trailing slash.
urlpatterns = [
    path("production", views.OrderCollectionView.as_view(), name="api-orders"),
    path("production/<str:order_id>", views.OrderDetailView.as_view(), name="api-order-detail"),
    path(
        "production/<str:order_id>/proofs",
        proof_views.ProofUploadView.as_view(),
        name="api-order-proofs",
    ),
    path(
        "production/<str:order_id>/shipments",
        shipment_views.ShipmentCreateView.as_view(),
        name="api-order-shipments",
    ),
    path(
        "production/<str:order_id>/proofs/<int:revision>/decision",
        proof_views.ProofDecisionView.as_view(),
        name="api-proof-decision",
    ),
]
