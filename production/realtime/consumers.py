"""WebSocket consumers: live order pages and the operators' dashboard. Read-only.

Authorization is decided before a socket joins any group, and again whenever its user changes
(`production.signals`: deactivated, demoted, password changed). A refused socket is accepted and
then closed with an application code (4401 anonymous, 4403 not allowed, 4404 no such order)
because a handshake refused outright reaches the browser as a bare 1006, with no reason to act on.

Every group a socket hears (its order or the operators' list, its user's, its login session's)
comes through the process's fan-out (`production.realtime.fanout`): one channel-layer subscription
per
process and group, so a socket has no channel of its own and costs Redis nothing to open or close.

A user may hold at most WS_MAX_SOCKETS_PER_USER sockets in one process; the next is closed with
4429 (counted per process, see docs/decisions/0036). When the channel layer fails (Redis down or
restarted), sockets close with 4503 and their pages reconnect with backoff, joining their groups
afresh: a socket whose memberships Redis may have lost never stays open.

The database is touched only inside `database_sync_to_async`, which closes stale connections on
its way in and out; every handler that runs per broadcast message is database-free.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import Counter
from importlib import import_module
from uuid import UUID

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.utils.crypto import constant_time_compare

from production.accounts.access import can_view_order, is_operator
from production.broadcasts import OPS_GROUP, order_group, session_group, user_group
from production.plumbing import metrics

# `frames` registers the `order.changed` expander: this process's sockets get their frames here.
from production.realtime import fanout, frames  # noqa: F401
from production.realtime.channel_layer import UNAVAILABLE
from production.selectors import get_order_for_access

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_MANY = 4429
# The channel layer failed: reconnect (with backoff) and join afresh. Not 1011: daphne's autobahn
# lets an application send only 1000 and 3000-4999 (1011 is what daphne sends when one crashes).
CLOSE_UNAVAILABLE = 4503

# Open sockets per user id in this process. Everything touching it runs on the process's one
# event loop, without an await between check and change, so it needs no lock.
_open_sockets: Counter[int] = Counter()
UNAVAILABLE_LOG_SECONDS = 30.0
_unavailable_logged_at = float("-inf")


def open_sockets() -> dict[int, int]:
    """This process's open live sockets per user id, the count WS_MAX_SOCKETS_PER_USER limits (a
    copy; a user with no socket open has no entry)."""
    return dict(_open_sockets)


class LiveConsumer(AsyncWebsocketConsumer):
    """A server-to-client stream of pre-encoded frames from the channel layer."""

    # No channel per socket: Channels creates none when the alias names no configured layer
    # (`get_channel_layer` gives None). The fan-out hub uses the default layer.
    channel_layer_alias = "live-sockets-listen-through-production-fanout"

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._fanout: list[tuple[fanout.Hub, str]] = []
        self._slot: int | None = None  # the user id this socket is counted for, while counted
        self._accepted = False
        self._closed = False

    async def dispatch(self, message: dict) -> None:
        # Channels' default dispatch hops to a worker thread before every handler to close stale
        # database connections. None of these handlers touches the database (connect does, inside
        # database_sync_to_async, which cleans up itself), and with 1,000 sockets on one order
        # that hop, serialized on one thread, is most of the fan-out time (bench/realtime.py).
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def __call__(self, scope: dict, receive: object, send: object) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:  # however the socket ended (closed, or cancelled by the server)
            self._release_slot()
            for hub, group in self._fanout:
                # Redis down: a Redis that returns with its data keeps the hub's membership
                # until group_expiry; its messages are dropped, nothing else.
                with contextlib.suppress(*UNAVAILABLE):
                    await hub.remove(group, self)

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.refuse(CLOSE_UNAUTHENTICATED)
            return
        if not self._take_slot(user.pk):
            logger.info("User %s has too many live sockets open here; refusing one", user.pk)
            await self.refuse(CLOSE_TOO_MANY)
            return
        refusal = await self.refusal(user)
        if refusal is not None:
            await self.refuse(refusal)
            return
        try:
            await self.join(*self.broadcast_groups(), user_id=user.pk)
        except UNAVAILABLE as error:
            _log_unavailable(error)
            await self.refuse(CLOSE_UNAVAILABLE)

    async def refusal(self, user: object) -> int | None:
        """The close code that refuses `user` this socket, or None to let them in."""
        raise NotImplementedError

    def broadcast_groups(self) -> list[str]:
        raise NotImplementedError

    async def refuse(self, code: int) -> None:
        """Close with `code`, accepting first so the browser sees the code (not a bare 1006)."""
        metrics.socket_refused(code)
        if not self._accepted and not self._closed:
            await self.accept()
        await self.close(code=code)

    async def accept(self, subprotocol: str | None = None, headers: object = None) -> None:
        self._accepted = True
        await super().accept(subprotocol, headers)

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        """Close once (several paths may close one socket); a closing socket counts no more."""
        if self._closed:
            return
        self._closed = True
        self._release_slot()
        await super().close(code=code, reason=reason)

    def _take_slot(self, user_id: int) -> bool:
        if _open_sockets[user_id] >= settings.WS_MAX_SOCKETS_PER_USER:
            return False
        _open_sockets[user_id] += 1
        self._slot = user_id
        metrics.socket_opened()
        return True

    def _release_slot(self) -> None:
        user_id, self._slot = self._slot, None
        if user_id is None:
            return
        metrics.socket_closed()
        _open_sockets[user_id] -= 1
        if _open_sockets[user_id] <= 0:
            del _open_sockets[user_id]

    async def join(self, *groups: str, user_id: int) -> None:
        """Hear the broadcast groups, this socket's user's and its session's; accept.

        A logout closes exactly that session's sockets; a change to the user makes each of their
        sockets check its access again.
        """
        groups = (*groups, user_group(user_id))
        session_key = getattr(self.scope.get("session"), "session_key", None)
        if session_key:
            groups += (session_group(session_key),)
        layer = get_channel_layer()
        for group in groups:
            hub = await fanout.subscribe(layer, group, self)
            self._fanout.append((hub, group))
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Clients only listen; whatever they send is ignored."""

    async def order_updated(self, message: dict) -> None:
        await self.send(text_data=message["text"])

    async def event_created(self, message: dict) -> None:
        await self.send(text_data=message["text"])

    async def fanout_failed(self, message: dict) -> None:
        # The process lost the channel layer (`production.realtime.fanout`): reconnect and join
        # afresh.
        await self.close(code=CLOSE_UNAVAILABLE)

    async def session_ended(self, message: dict) -> None:
        # The user logged out: this socket's session no longer authorizes it.
        await self.close(code=CLOSE_UNAUTHENTICATED)

    async def access_changed(self, message: dict) -> None:
        """The user changed (deactivated, demoted, new password...): decide again, as on connect."""
        user = await _current_user(self.scope)
        refusal = CLOSE_UNAUTHENTICATED if user is None else await self.refusal(user)
        if refusal is not None:
            await self.close(code=refusal)
            return
        self.scope["user"] = user


class OrderConsumer(LiveConsumer):
    """`ws/orders/<id>/`: one order's updates and new events, for its owner or an operator."""

    def broadcast_groups(self) -> list[str]:
        return [order_group(self.scope["url_route"]["kwargs"]["order_id"])]

    async def refusal(self, user: object) -> int | None:
        return await _order_refusal(user, self.scope["url_route"]["kwargs"]["order_id"])


class OpsOrdersConsumer(LiveConsumer):
    """`ws/ops/orders/`: one message per changed order, for the operators' dashboard."""

    def broadcast_groups(self) -> list[str]:
        return [OPS_GROUP]

    async def refusal(self, user: object) -> int | None:
        return None if await database_sync_to_async(is_operator)(user) else CLOSE_FORBIDDEN


def _log_unavailable(error: BaseException) -> None:
    """One line, not one traceback per socket: an outage closes (and refuses) them by thousands."""
    global _unavailable_logged_at
    now = time.monotonic()
    if now - _unavailable_logged_at < UNAVAILABLE_LOG_SECONDS:
        logger.debug("Live socket closed: channel layer unavailable (%s)", error)
        return
    _unavailable_logged_at = now
    logger.warning("Live sockets closing with 4503: channel layer unavailable (%s)", error)


@database_sync_to_async
def _current_user(scope: dict) -> object | None:
    """The socket's user as the database and their session store see them now; None if the user
    is gone or inactive, or the session logged out or outdated by a password change.

    Channels' `get_user` would flush a session whose hash is outdated, and the socket's copy of
    the session is the one loaded at connect: after the user changed their own password (which
    refreshes the hash of the session they are using) that would log their browser out.
    So the session is read afresh from its store, and nothing is written.
    """
    user_id = getattr(scope.get("user"), "pk", None)
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return None
    session_key = getattr(scope.get("session"), "session_key", None)
    if session_key:
        stored = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
        stored_hash = stored.get(HASH_SESSION_KEY)
        if stored.get(SESSION_KEY) != str(user.pk) or not (
            stored_hash and constant_time_compare(stored_hash, user.get_session_auth_hash())
        ):
            return None
    return user


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
