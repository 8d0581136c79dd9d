from django.urls import path

from shopify import views

app_name = "shopify"

urlpatterns = [
    path("webhooks/", views.shopify_webhook, name="webhook"),
    path("fulfilments/<int:push_id>/retry", views.retry_fulfilment, name="fulfilment-retry"),
    path("store-orders/<int:store_order_id>/import", views.import_again, name="import-again"),
]
