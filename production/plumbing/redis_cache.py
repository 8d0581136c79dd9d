"""django-redis, with a `cache.clear()` that clears the cache and nothing else.

The cache and the channel layer share one Redis database (one REDIS_URL). django-redis clears with
FLUSHDB, which would also empty the channel layer's groups: every live page deaf until its hub
renews, up to 5 minutes (docs/decisions.md). Here `clear()` deletes the keys under the cache's
KEY_PREFIX (every version), found with SCAN.
"""

from __future__ import annotations

from typing import Any

from django_redis.client import DefaultClient
from django_redis.client.default import glob_escape
from django_redis.util import CacheKey


class PrefixClearingClient(DefaultClient):
    def clear(self, client: Any = None) -> None:
        # Django's key function makes "<prefix>:<version>:<key>".
        mine = CacheKey(f"{glob_escape(self._backend.key_prefix)}:*")
        self.delete_pattern(mine, client=client, itersize=1000)
