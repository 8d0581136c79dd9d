"""The Redis channel layer, with a connection pool fit for thousands of sockets per process.

Two fixes over channels_redis's own pool (docs/decisions.md, "Realtime"):

* Sized for the sockets. redis-py's default pool allows 100 connections per event loop and the
  101st concurrent command raises "Too many connections". One daphne process runs every socket on
  one loop, so 1,000 sockets closing at once (a deploy, a network blip) issue 1,000 concurrent
  `group_discard` calls; with the default pool most failed and left dead channels in their groups.
  `max_connections` comes from CHANNELS_REDIS_POOL_SIZE (connections open only when needed).
* No client-side read timeout. redis-py 8 reads with a 5 s socket timeout by default, the same 5 s
  channels_redis blocks in BZPOPMIN while a process has no messages, so an idle receive loop raises
  TimeoutError and every consumer of the process dies (channels_redis issue #422). A longer finite
  timeout is not enough either: under a mass disconnect it races the consumers' cancellation
  (Python 3.11's `asyncio.timeout` turns the cancel into a TimeoutError, redis-py retries the read)
  and leaves a consumer that never exits. TCP keepalive detects a dead Redis instead.
"""

from __future__ import annotations

from channels_redis.core import RedisChannelLayer
from redis import asyncio as aioredis


class PooledRedisChannelLayer(RedisChannelLayer):
    """`RedisChannelLayer` with a socket-count-sized pool and no client-side read timeout."""

    def create_pool(self, index: int) -> aioredis.ConnectionPool:
        host = dict(self.hosts[index])
        if "master_name" in host:
            return super().create_pool(index)  # Sentinel: channels_redis's own pool
        address = host.pop("address", None)
        options = {
            "max_connections": int(host.pop("max_connections", 100)),
            "socket_timeout": host.pop("socket_timeout", None),
            "socket_connect_timeout": host.pop("socket_connect_timeout", 5),
            "socket_keepalive": host.pop("socket_keepalive", True),
            **host,
        }
        if address is None:
            return aioredis.ConnectionPool(**options)
        return aioredis.ConnectionPool.from_url(address, **options)
