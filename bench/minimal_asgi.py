"""The baseline for bench/realtime.py: the smallest Channels consumer that fans a group out.

Stock `AsyncJsonWebsocketConsumer` (default dispatch, JSON encoded per socket), no auth, no DB.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.generic.websocket import AsyncJsonWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

GROUP = "bench.minimal"


class MinimalConsumer(AsyncJsonWebsocketConsumer):
    groups = [GROUP]

    async def bench_message(self, event: dict) -> None:
        await self.send_json(event["payload"])


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter([path("ws/minimal/", MinimalConsumer.as_asgi())]),
    }
)
