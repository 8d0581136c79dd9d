"""Token authentication for scripts, with the token's user kept in the shared cache briefly."""

import copy
import hashlib
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.authentication import TokenAuthentication, get_authorization_header

from production.read_ahead import cache_get

TTL = 60  # seconds; deleting a token or saving its user clears the entry at once


def token_cache_key(key: str) -> str:
    # The token itself never becomes a cache key.
    return "api-token:" + hashlib.sha256(key.encode()).hexdigest()


class CachedTokenAuthentication(TokenAuthentication):
    """DRF's `Authorization: Token <key>`, without a query per request for a known token."""

    def authenticate_credentials(self, key: str) -> tuple:
        cache_key = token_cache_key(key)
        user = cache_get(cache_key)
        if user is not None:
            return user, key
        user, token = super().authenticate_credentials(key)
        cache.set(cache_key, _bare(user), TTL)
        return user, token


def _bare(user: Any) -> Any:
    """A copy of `user` without its cached relations (the token fetched with it): half the bytes
    to unpickle on every cached request."""
    bare = copy.copy(user)
    bare._state = copy.copy(user._state)
    bare._state.fields_cache = {}
    return bare


def token_cache_key_of(request: HttpRequest) -> str | None:
    """The cache key of the request's `Authorization: Token <key>`, if it carries one."""
    parts = get_authorization_header(request).split()
    if len(parts) != 2 or parts[0].lower() != CachedTokenAuthentication.keyword.lower().encode():
        return None
    try:
        return token_cache_key(parts[1].decode())
    except UnicodeError:
        return None


def forget_tokens(keys: list[str]) -> None:
    cache.delete_many([token_cache_key(key) for key in keys])
