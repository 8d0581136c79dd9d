from django.urls import path

from production import proof_files
from production.pages import account
from production.pages import orders as pages

urlpatterns = [
    path("accounts/api-token/", account.api_token, name="api-token"),
    path("orders/", pages.my_orders, name="order-list"),
    path("orders/<uuid:order_id>/", pages.order_detail, name="order-detail"),
    path(
        "orders/<uuid:order_id>/proofs/<int:revision>/file",
        proof_files.serve_proof,
        name="order-proof-file",
    ),
    path(
        "orders/<uuid:order_id>/proofs/<int:revision>/decision",
        pages.decide_proof,
        name="order-proof-decision",
    ),
]
