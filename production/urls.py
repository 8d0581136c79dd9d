from django.urls import path

from production import pages, proofs

urlpatterns = [
    path("orders/", pages.my_orders, name="order-list"),
    path("orders/<uuid:order_id>/", pages.order_detail, name="order-detail"),
    path(
        "orders/<uuid:order_id>/proofs/<int:revision>/file",
        proofs.serve_proof,
        name="order-proof-file",
    ),
    path(
        "orders/<uuid:order_id>/proofs/<int:revision>/decision",
        pages.decide_proof,
        name="order-proof-decision",
    ),
]
