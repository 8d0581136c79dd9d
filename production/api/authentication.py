"""Token authentication for scripts, with the token's user kept in the shared cache briefly."""

import hashlib

from django.core.cache import cache
from rest_framework.authentication import TokenAuthentication

TTL = 60  # seconds; deleting a token or saving its user clears the entry at once


def token_cache_key(key: str) -> str:
    # The token itself never becomes a cache key.
    return "api-token:" + hashlib.sha256(key.encode()).hexdigest()


class CachedTokenAuthentication(TokenAuthentication):
    """DRF's `Authorization: Token <key>`, without a query per request for a known token."""

    def authenticate_credentials(self, key: str) -> tuple:
        cache_key = token_cache_key(key)
        user = cache.get(cache_key)
        if user is not None:
            return user, key
        user, token = super().authenticate_credentials(key)
        cache.set(cache_key, user, TTL)
        return user, token


def forget_tokens(keys: list[str]) -> None:
    cache.delete_many([token_cache_key(key) for key in keys])
