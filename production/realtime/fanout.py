"""One channel-layer subscription per process and group; frames fan out to the local sockets.

Channels' own way gives every socket its channel and puts each one in the group: a group send to
an order with 1,000 sockets in one process becomes 1,000 channel messages, each waking one consumer
task that pulls its copy from the receive buffer, dispatches it and sends. That per-socket overhead
was most of the fan-out time (bench/realtime.py). Here each process joins a group once, with one
channel of its own, and a single loop forwards each message to the process's sockets of that
group, which only write the frame. The layer carries one message per process, whatever the socket
count.

Group messages name their group (`"group": ...`, see `production.broadcasts`): one channel
receives for every group the process watches. Some messages say only what changed
(`order.changed`): the hub turns each into its frames once (`expanders`), for all its sockets of
the group, and only when it has some. A group is left when its last local socket goes, and
the whole hub stops when it watches nothing. Memberships are renewed while watched (every 5
minutes), as the Redis layer forgets members older than its `group_expiry`.

When the layer fails (Redis stopped or restarted, possibly without its data and so without our
memberships), the hub does not retry in place: it hands every local socket a `fanout.failed`
message (the consumers close with 4503) and stops. Clients reconnect with their backoff and join
a fresh hub's groups, so nobody sits on a socket that silently hears nothing.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from typing import Protocol

from channels.layers import BaseChannelLayer

from production.plumbing import metrics

logger = logging.getLogger(__name__)

# Message types a hub turns into other messages before fanning them out, once per process and
# message, in order (the next message waits): `production.realtime.frames` registers
# `order.changed`,
# whose frames are read where the sockets are rather than by the process that made the change.
expanders: dict[str, Callable[[dict], Awaitable[list[dict]]]] = {}

RENEW_SECONDS = 300.0  # well within channels_redis's group_expiry (a day by default)
FAILED = {"type": "fanout.failed"}  # what each local socket is handed when the layer fails


class Listener(Protocol):
    """What the hub needs of a consumer: to take a message as if its own channel received it
    (and `FAILED` when the hub stops because the layer failed)."""

    async def dispatch(self, message: dict) -> None: ...


class Hub:
    """The fan-out of one process (one event loop) on one channel layer.

    One lock orders every change of the hub's memberships (join, leave, renew) and its start:
    a leave can never reach the layer after a later join of the same group, and nothing joins a
    hub that failed. Adding a socket to a group the hub already watches takes the lock only
    briefly, without touching the layer.
    """

    def __init__(self, layer: BaseChannelLayer) -> None:
        self.layer = layer
        self.channel: str | None = None
        self.groups: dict[str, set[Listener]] = {}  # the groups joined on the layer, and who hears
        self.stopped = False
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []

    @property
    def tasks(self) -> tuple[asyncio.Task, ...]:
        """The hub's receive and renew loops while it runs (none before its first socket joins,
        none once it stopped): a stopped hub must leave no loop behind."""
        return tuple(self._tasks)

    async def add(self, group: str, listener: Listener) -> bool:
        """Deliver `group`'s messages to `listener` from now on (joined when this returns True).

        False if the hub stopped (the layer failed, or it emptied): subscribe through a new one.
        """
        async with self._lock:
            if self.stopped:
                return False
            if self.channel is None:
                self.channel = await self.layer.new_channel()
                self._tasks = [
                    asyncio.create_task(self._pump(), name=f"fanout {self.channel}"),
                    asyncio.create_task(self._renew(), name=f"fanout renew {self.channel}"),
                ]
            members = self.groups.get(group)
            if members is None:
                try:
                    await self.layer.group_add(group, self.channel)
                except BaseException:
                    if not self.groups:
                        self._stop()
                    raise
                members = self.groups[group] = set()
            members.add(listener)
            # The layer may have failed while we joined: then this hub is done, use a new one.
            return not self.stopped

    async def remove(self, group: str, listener: Listener) -> None:
        """Stop delivering to `listener`; leave the group when it was the last local one, and stop
        the hub when it watches nothing."""
        async with self._lock:
            members = self.groups.get(group)
            if members is None or listener not in members:
                return
            members.discard(listener)
            if members:
                return
            del self.groups[group]
            try:
                await self.layer.group_discard(group, self.channel)
            finally:
                if not self.groups:
                    self._stop()

    def _stop(self) -> None:
        self.stopped = True
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        self._tasks = []

    async def fail(self, error: BaseException) -> None:
        """The layer failed: stop, and hand every local socket `FAILED` (once, whoever calls).

        Our memberships may be gone with the layer's data, so listening on would leave sockets
        that hear nothing; they reconnect instead and join the groups of a new hub.
        """
        if self.stopped:
            return
        self._stop()
        groups, self.groups = self.groups, {}
        listeners = {listener for members in groups.values() for listener in members}
        logger.error(
            "Live fan-out lost the channel layer (%s): closing %d sockets", error, len(listeners)
        )
        for listener in listeners:
            try:
                await listener.dispatch(dict(FAILED))
            except Exception:
                logger.exception("Live fan-out could not close one socket")

    async def _pump(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                await self.fail(error)
                return
            listeners = tuple(self.groups.get(message.get("group", ""), ()))
            if not listeners:
                continue
            messages = [message]
            expand = expanders.get(message.get("type", ""))
            if expand is not None:
                try:
                    messages = await expand(message)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("Live fan-out could not build the frames of %s", message)
                    continue
            for each in messages:
                if "text" in each:  # a frame (not a close or re-check order)
                    metrics.frames_sent(each["type"], len(listeners))
                for listener in listeners:
                    try:
                        await listener.dispatch(each)
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        logger.exception("Live fan-out could not deliver to one socket")

    async def _renew(self) -> None:
        # channels_redis drops members older than group_expiry (a day by default) from its sends:
        # renew well before that matters. (A Redis restarted empty fails the receive: see `fail`.)
        interval = max(1.0, min(RENEW_SECONDS, getattr(self.layer, "group_expiry", 86400) / 4))
        while True:
            await asyncio.sleep(interval)
            for group in tuple(self.groups):
                async with self._lock:
                    if group not in self.groups:  # left meanwhile: renewing would rejoin it
                        continue
                    try:
                        await self.layer.group_add(group, self.channel)
                    except Exception:
                        logger.exception("Live fan-out could not renew its place in %s", group)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


async def subscribe(layer: BaseChannelLayer, group: str, listener: Listener) -> Hub:
    """Deliver `group`'s messages to `listener`; returns the hub to `remove` it from later."""
    loop = asyncio.get_running_loop()
    while True:
        hub = _hubs.get(loop)
        if hub is None or hub.stopped or hub.layer is not layer:
            hub = _hubs[loop] = Hub(layer)
        if await hub.add(group, listener):
            return hub
