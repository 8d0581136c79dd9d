"""The Redis channel layer with a connection pool that waits instead of failing.

channels_redis builds redis-py's default pool: at most 100 connections per event loop, and the
101st concurrent command raises "Too many connections". One daphne process runs every socket on
one loop, so 1,000 sockets closing at once (a deploy, a network blip) issue 1,000 concurrent
`group_discard` calls; in a trial most of them failed and left dead channels in their groups.
A blocking pool queues those commands for a free connection instead (docs/decisions.md).
"""

from __future__ import annotations

from channels_redis.core import RedisChannelLayer
from redis import asyncio as aioredis


class PooledRedisChannelLayer(RedisChannelLayer):
    """`RedisChannelLayer` whose hosts may set `max_connections` and `pool_timeout` (seconds)."""

    def create_pool(self, index: int) -> aioredis.ConnectionPool:
        host = dict(self.hosts[index])
        if "master_name" in host:
            return super().create_pool(index)  # Sentinel: channels_redis's own pool
        address = host.pop("address", None)
        max_connections = int(host.pop("max_connections", 100))
        timeout = float(host.pop("pool_timeout", 20))
        if address is None:
            return aioredis.BlockingConnectionPool(
                max_connections=max_connections, timeout=timeout, **host
            )
        return aioredis.BlockingConnectionPool.from_url(
            address, max_connections=max_connections, timeout=timeout, **host
        )
