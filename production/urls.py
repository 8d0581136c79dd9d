from django.urls import path

from production import pages

urlpatterns = [
    path("orders/", pages.my_orders, name="order-list"),
    path("orders/<uuid:order_id>/", pages.order_detail, name="order-detail"),
]
