"""The baselines for bench/realtime.py: the smallest stock Channels consumers that fan a group out.

Stock consumers (default dispatch, no auth, no DB), one channel per socket in the group:

* `ws/minimal/`: `AsyncJsonWebsocketConsumer`, the message's payload JSON-encoded per socket.
* `ws/orders/<id>/`: `AsyncWebsocketConsumer` in the order's group, forwarding a finished frame
  (`text`) and building the frames of an `order.changed` itself (`frames.frames_for`, per
  socket): the plain stock consumer our own would be without a fan-out hub.
* `ws/orders-direct/<id>/`: the same without Channels' per-message database hop (`dispatch`
  calls the handler directly), as production/realtime/consumers.py does.

Which channel layer they run on is the settings' (`bench/pubsub_settings.py` for the pub/sub one).
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.consumer import get_handler_name  # noqa: E402
from channels.db import database_sync_to_async  # noqa: E402
from channels.generic.websocket import (  # noqa: E402
    AsyncJsonWebsocketConsumer,
    AsyncWebsocketConsumer,
)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from production.realtime.frames import frames_for  # noqa: E402

GROUP = "bench.minimal"


class MinimalConsumer(AsyncJsonWebsocketConsumer):
    groups = [GROUP]

    async def bench_message(self, event: dict) -> None:
        await self.send_json(event["payload"])


class OrderFrameConsumer(AsyncWebsocketConsumer):
    group_prefix = "order"

    async def connect(self) -> None:
        group = f"{self.group_prefix}.{self.scope['url_route']['kwargs']['order_id']}"
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups.append(group)  # left by the base class on disconnect
        await self.accept()

    async def order_updated(self, event: dict) -> None:
        await self.send(text_data=event["text"])

    async def event_created(self, event: dict) -> None:
        await self.send(text_data=event["text"])

    async def order_changed(self, event: dict) -> None:
        # What a change announces (ids only): each stock consumer builds the frames itself.
        for frame in await database_sync_to_async(frames_for)(event):
            await self.send(text_data=frame["text"])


class DirectOrderFrameConsumer(OrderFrameConsumer):
    group_prefix = "direct"  # a group of its own, so each round reaches only the measured sockets

    async def dispatch(self, message: dict) -> None:
        await getattr(self, get_handler_name(message))(message)


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(
            [
                path("ws/minimal/", MinimalConsumer.as_asgi()),
                path("ws/orders/<str:order_id>/", OrderFrameConsumer.as_asgi()),
                path("ws/orders-direct/<str:order_id>/", DirectOrderFrameConsumer.as_asgi()),
            ]
        ),
    }
)
