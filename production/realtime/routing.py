"""WebSocket routes (served by daphne; config/asgi.py wraps them in origin and session checks)."""

from django.urls import path

from production.realtime import consumers

websocket_urlpatterns = [
    # Any id reaches the consumer, so a malformed one closes with 4404 like an unknown one.
    path("ws/orders/<str:order_id>/", consumers.OrderConsumer.as_asgi()),
    path("ws/ops/orders/", consumers.OpsOrdersConsumer.as_asgi()),
]
