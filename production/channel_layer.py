"""The Redis channel layer: channels_redis's pub/sub layer, made to say when it lost Redis.

Why pub/sub (docs/decisions.md, "Realtime"): a process subscribes once to each group its sockets
are in and hands each message to those sockets in memory, so 1,000 sockets on one order cost one
Redis message per process; group memberships live in the process, not in Redis, so nothing
expires, needs renewing, or is lost when Redis restarts empty.

Three things the library leaves undone, done here:

* Saying that Redis was lost. channels_redis 4.3 still accepts `on_disconnect` but no longer acts
  on it (django/channels_redis#406): its receive loop logs a traceback every second while Redis
  is down and silently resubscribes once Redis is back. What was published in between is gone,
  so a live page would never learn that it missed a change. Here the first failure of a process's
  subscription puts `{"type": on_disconnect}` in every local channel (the consumers close with
  4503; the pages reconnect and refetch) and logs one line.
* Forgetting, while Redis is down, the channels of sockets that end: the library's UNSUBSCRIBE
  fails, redis-py keeps the channel in its list and subscribes it again when Redis is back — one
  dead subscription per socket per outage, for the life of the process.
* Retrying a publish once on a connection error: a Redis restart leaves the pool's idle
  connection closed, and redis-py notices only when a command fails on it.
"""

from __future__ import annotations

import asyncio
import logging

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _wrap_close
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What a channel-layer call raises when Redis is down, restarting or unreachable. The consumers
# treat these as "the layer is gone": close the socket with 4503 and let the client reconnect.
UNAVAILABLE: tuple[type[BaseException], ...] = (RedisError, OSError)


class PubSubChannelLayer(RedisPubSubChannelLayer):
    """`RedisPubSubChannelLayer` whose local channels hear `on_disconnect` when Redis is lost."""

    def _get_layer(self) -> RedisPubSubLoopLayer:
        # As the library's, with our per-event-loop layer (one per loop, flushed when it closes).
        loop = asyncio.get_running_loop()
        layer = self._layers.get(loop)
        if layer is None:
            layer = self._layers[loop] = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            _wrap_close(self, loop)
        return layer


class _LoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._shards = [_Shard(shard.host, self) for shard in self._shards]

    async def _subscribe_to_channel(self, channel: str) -> None:
        try:
            await super()._subscribe_to_channel(channel)
        except BaseException:
            # The library left a queue behind for a consumer that never starts.
            self.channels.pop(channel, None)
            raise

    def connection_lost(self, error: BaseException) -> int:
        """Hand every local channel the `on_disconnect` message; how many were told."""
        if not self.on_disconnect:
            return 0
        message = self.channel_layer.serialize({"type": self.on_disconnect})
        for queue in self.channels.values():
            queue.put_nowait(message)
        return len(self.channels)


class _Shard(RedisSingleShardConnection):
    async def publish(self, channel: str, message: bytes) -> None:
        try:
            await super().publish(channel, message)
        except RedisConnectionError:
            await super().publish(channel, message)  # stale after a restart; still down: raises

    async def unsubscribe(self, channel: str) -> None:
        try:
            await super().unsubscribe(channel)
        except UNAVAILABLE:
            # Redis is down, so nothing is subscribed there now; make sure nothing is again.
            self._subscribed_to.discard(channel)
            if self._pubsub is not None:
                self._pubsub.channels.pop(channel.encode(), None)

    async def _do_receiving(self) -> None:
        # The library's loop, except that losing Redis is reported, once, instead of logged with
        # a traceback every second.
        lost = False
        while True:
            try:
                if self._pubsub and self._pubsub.subscribed:
                    message = await self._pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=0.1
                    )
                    lost = False
                    self._receive_message(message)
                else:
                    await asyncio.sleep(0.1)
            except (TimeoutError, asyncio.CancelledError, GeneratorExit):
                raise
            except UNAVAILABLE as error:
                if not lost:
                    lost = True
                    told = self.channel_layer.connection_lost(error)
                    logger.warning(
                        "Channel layer lost Redis (%s): %d live sockets told to reconnect",
                        error,
                        told,
                    )
                await asyncio.sleep(1)
            except Exception:
                logger.exception("Unexpected exception in the channel layer's receive loop")
                await asyncio.sleep(1)
