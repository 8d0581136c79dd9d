"""Django's Redis cache with one connection pool and one client per process, not per request.

Two costs of `django.core.cache.backends.redis` on the hot read path (bench/api.py):

* A new client per operation. `RedisCacheClient.get_client` builds a `redis.Redis` for every cache
  call, and redis-py 8's constructor fills a table of ~170 response callbacks each time: about
  0.15 ms of Python per read, more than the round trip itself.
* A new pool per request under ASGI. Django keeps a cache object per thread or async context, and
  each request runs in a context of its own, so every request built a fresh connection pool and
  opened (and handshook) a new connection to Redis; the pool is never closed, only collected.

Pools and clients here are shared by every cache object of the process, keyed by server and
options. Both are thread-safe (a command takes a connection from the pool) and fork-safe (a pool
notices the new process id and starts over).
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_shared: dict[tuple, tuple[Any, Any]] = {}  # (server, options) -> (pool, client)
_shared_lock = threading.Lock()


class SharedPoolRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._found: dict[int, tuple[Any, Any]] = {}

    def _shared(self, write: bool) -> tuple[Any, Any]:
        index = self._get_connection_pool_index(write)
        found = self._found.get(index)
        if found is None:
            key = (self._servers[index], repr(sorted(self._pool_options.items())))
            with _shared_lock:
                found = _shared.get(key)
                if found is None:
                    pool = self._pool_class.from_url(self._servers[index], **self._pool_options)
                    found = _shared[key] = (pool, self._client(connection_pool=pool))
            self._found[index] = found
        return found

    def _get_connection_pool(self, write: bool) -> Any:
        return self._shared(write)[0]

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        return self._shared(write)[1]


class SharedPoolRedisCache(RedisCache):
    """`django.core.cache.backends.redis.RedisCache`, sharing pools and clients process-wide."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = SharedPoolRedisCacheClient
