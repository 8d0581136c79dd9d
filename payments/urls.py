from django.urls import path

from payments import pages, simulator

app_name = "payments"

urlpatterns = [
    path("checkout/<str:session_id>/", simulator.checkout_page, name="checkout"),
    path("checkout/<str:session_id>/action/", simulator.checkout_action, name="checkout-action"),
    path("orders/<uuid:order_id>/pay/", pages.pay_order, name="pay"),
]
