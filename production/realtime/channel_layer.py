"""The Redis channel layer, with a connection pool fit for thousands of sockets per process.

Two fixes over channels_redis's own pool (docs/decisions/0039):

* A pool that waits. redis-py's default pool allows 100 connections per event loop and the
  next concurrent command raises "Too many connections" (`MaxConnectionsError`). One daphne
  process runs every socket on one loop; when sockets had channels of their own, thousands
  closing at once (a deploy, a network blip) issued thousands of concurrent `group_discard`
  calls, and those beyond the pool failed and left dead channels in their groups. (Sockets now
  listen through `production.realtime.fanout`, whose joins and leaves take turns, so bursts are
  rarer
  and smaller; the pool stays as the safe default.) A `BlockingConnectionPool` of
  CHANNELS_REDIS_POOL_SIZE connections (opened only when needed) queues them for a free
  connection instead, for up to `pool_timeout` seconds (default 20).
* No client-side read timeout. redis-py 8 reads with a 5 s socket timeout by default, the same 5 s
  channels_redis blocks in BZPOPMIN while a process has no messages, so an idle receive loop raises
  TimeoutError and every consumer of the process dies (channels_redis issue #422). A longer finite
  timeout is not enough either: under a mass disconnect it races the consumers' cancellation
  (Python 3.11's `asyncio.timeout` turns the cancel into a TimeoutError, redis-py retries the read)
  and leaves a consumer that never exits. A stopped Redis closes its connections, which every
  pending read sees at once; TCP keepalive finds one that vanished without closing them.

And one retry on a connection error (never on a timeout, see above): a Redis that restarted
leaves the pool's idle connections closed, and redis-py notices only when a command fails on
one. Without the retry every stale connection failed one command after Redis came back: a
reconnecting socket closed again with 4503. A Redis still down fails the retry at once.
"""

from __future__ import annotations

from channels_redis.core import RedisChannelLayer
from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

# What a channel-layer call raises when Redis is down, restarting or unreachable. The consumers
# treat these as "the layer is gone": close the socket with 4503 and let the client reconnect.
UNAVAILABLE: tuple[type[BaseException], ...] = (RedisError, OSError)


class PooledRedisChannelLayer(RedisChannelLayer):
    """`RedisChannelLayer` with a waiting, socket-count-sized pool and no client read timeout."""

    def create_pool(self, index: int) -> aioredis.ConnectionPool:
        host = dict(self.hosts[index])
        if "master_name" in host:
            return super().create_pool(index)  # Sentinel: channels_redis's own pool
        address = host.pop("address", None)
        options = {
            "max_connections": int(host.pop("max_connections", 100)),
            "timeout": float(host.pop("pool_timeout", 20)),
            "socket_timeout": host.pop("socket_timeout", None),
            "socket_connect_timeout": host.pop("socket_connect_timeout", 5),
            "socket_keepalive": host.pop("socket_keepalive", True),
            "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
            **host,
        }
        if address is None:
            return aioredis.BlockingConnectionPool(**options)
        return aioredis.BlockingConnectionPool.from_url(address, **options)

    async def group_size(self, group: str) -> int:
        """How many members `group` has in Redis now (with the fan-out, one per process that
        has sockets in it), whatever key channels_redis keeps the group under: for checks and
        tests of socket hygiene."""
        connection = self.connection(self.consistent_hash(group))
        return await connection.zcard(self._group_key(group))
