from django.urls import path

from payments.pages import new_order
from production import pages

urlpatterns = [
    path("orders/new/", new_order, name="order-new"),
    path("orders/", pages.my_orders, name="order-list"),
    path("orders/<uuid:order_id>/", pages.order_detail, name="order-detail"),
]
