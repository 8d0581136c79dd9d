"""The cache backends, counting their hits and misses for Prometheus (production.plumbing.metrics).

django-redis's cache (Redis, production) and Django's local-memory cache (`make run`, tests),
each with `get` and `get_many` counted: a read that finds nothing (or a Redis that is down, which
django-redis turns into a miss) counts as a miss.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django_redis.cache import RedisCache

from production.plumbing import metrics

_MISSING = object()


class _Counting:
    def get(self, key: Any, default: Any = None, version: int | None = None, **kwargs: Any) -> Any:
        value = super().get(key, _MISSING, version=version, **kwargs)  # type: ignore[misc]
        if value is _MISSING:
            metrics.cache_read(0, 1)
            return default
        metrics.cache_read(1, 0)
        return value

    def get_many(self, keys: Any, *args: Any, **kwargs: Any) -> dict:
        keys = list(keys)
        found = super().get_many(keys, *args, **kwargs)  # type: ignore[misc]
        metrics.cache_read(len(found), len(keys) - len(found))
        return found


class CountingRedisCache(_Counting, RedisCache):
    """django-redis's RedisCache, hits and misses counted."""


class CountingLocMemCache(_Counting, LocMemCache):
    """Django's LocMemCache, hits and misses counted."""
