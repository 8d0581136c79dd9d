"""WebSocket consumers: live order pages and the operators' dashboard. Read-only.

Authorization is decided before a socket joins any group. A refused socket is accepted and then
closed with an application code (4401 anonymous, 4403 not allowed, 4404 no such order) because a
handshake refused outright reaches the browser as a bare 1006, with no reason to act on.

The database is touched only inside `database_sync_to_async`, which closes stale connections on
its way in and out; every handler that runs per broadcast message is database-free.
"""

from __future__ import annotations

from uuid import UUID

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from production import fanout
from production.access import can_view_order, is_operator
from production.broadcasts import OPS_GROUP, order_group, session_group
from production.selectors import get_order_for_access

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


class LiveConsumer(AsyncWebsocketConsumer):
    """A server-to-client stream of pre-encoded frames from the channel layer."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._fanout: list[tuple[fanout.Hub, str]] = []

    async def dispatch(self, message: dict) -> None:
        # Channels' default dispatch hops to a worker thread before every handler to close stale
        # database connections. None of these handlers touches the database (connect does, inside
        # database_sync_to_async, which cleans up itself), and with 1,000 sockets on one order
        # that hop, serialized on one thread, is most of the fan-out time (bench/realtime.py).
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def refuse(self, code: int) -> None:
        await self.accept()
        await self.close(code=code)

    async def __call__(self, scope: dict, receive: object, send: object) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:  # however the socket ended (closed, or cancelled by the server)
            for hub, group in self._fanout:
                await hub.remove(group, self)

    async def join(self, *groups: str) -> None:
        """Subscribe to broadcast groups, and this session's group; then accept.

        Broadcast groups go through the process's fan-out (`production.fanout`): one layer message
        per process, forwarded to each socket. The session group holds the socket's own channel
        (the base class leaves it on disconnect): a logout closes exactly that session's sockets.
        """
        for group in groups:
            hub = await fanout.subscribe(self.channel_layer, group, self)
            self._fanout.append((hub, group))
        session_key = getattr(self.scope.get("session"), "session_key", None)
        if session_key:
            group = session_group(session_key)
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups.append(group)
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Clients only listen; whatever they send is ignored."""

    async def order_updated(self, message: dict) -> None:
        await self.send(text_data=message["text"])

    async def event_created(self, message: dict) -> None:
        await self.send(text_data=message["text"])

    async def session_ended(self, message: dict) -> None:
        # The user logged out: this socket's session no longer authorizes it.
        await self.close(code=CLOSE_UNAUTHENTICATED)


class OrderConsumer(LiveConsumer):
    """`ws/orders/<id>/`: one order's updates and new events, for its owner or an operator."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.refuse(CLOSE_UNAUTHENTICATED)
            return
        order_id = self.scope["url_route"]["kwargs"]["order_id"]
        refusal = await _order_refusal(user, order_id)
        if refusal is not None:
            await self.refuse(refusal)
            return
        await self.join(order_group(order_id))


class OpsOrdersConsumer(LiveConsumer):
    """`ws/ops/orders/`: one message per changed order, for the operators' dashboard."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.refuse(CLOSE_UNAUTHENTICATED)
            return
        if not await database_sync_to_async(is_operator)(user):
            await self.refuse(CLOSE_FORBIDDEN)
            return
        await self.join(OPS_GROUP)


@database_sync_to_async
def _order_refusal(user: object, order_id: str) -> int | None:
    """The close code that refuses `user` a socket on `order_id`, or None to let them in."""
    try:
        order_uuid = UUID(order_id)
    except ValueError:
        return CLOSE_NOT_FOUND
    order = get_order_for_access(order_id=order_uuid)
    if order is None:
        return CLOSE_NOT_FOUND
    if not can_view_order(user, order):
        return CLOSE_FORBIDDEN
    return None
