"""`cache.clear()` on the shared Redis database clears the cache, not the channel layer."""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django_redis import get_redis_connection

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL (a shared Redis)")


def test_clearing_the_cache_leaves_the_live_pages_groups():
    layer = get_channel_layer()
    async_to_sync(layer.group_add)("order.cleared", "specific.test!listener")
    cache.set("order-copy", "cached", 60)
    cache.set("other-version", "cached", 60, version=2)

    cache.clear()

    assert cache.get("order-copy") is None
    assert cache.get("other-version", version=2) is None
    groups = get_redis_connection("default").keys(f"{layer.prefix}:group:order.cleared")
    assert groups, "the channel layer's group went with the cache"
    async_to_sync(layer.group_discard)("order.cleared", "specific.test!listener")
