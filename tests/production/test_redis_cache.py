"""The cache and the channel layer keep separate Redis databases: clearing the cache (django-redis
clears with FLUSHDB) leaves the live pages' groups, so a page keeps hearing its order."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL (a shared Redis)")


def test_the_channel_layer_has_its_own_database():
    assert settings.CHANNELS_REDIS_URL != settings.REDIS_URL
    layer_address = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["address"]
    assert layer_address == settings.CHANNELS_REDIS_URL


def test_clearing_the_cache_leaves_the_live_pages_groups():
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)("order.cleared", channel)
    cache.set("order-copy", "cached", 60)

    cache.clear()

    assert cache.get("order-copy") is None
    async_to_sync(layer.group_send)("order.cleared", {"type": "order.changed", "n": 1})

    async def receive() -> dict | None:
        try:
            return await asyncio.wait_for(layer.receive(channel), timeout=2)
        except TimeoutError:
            return None  # the group went with the cache: nobody hears the order

    assert async_to_sync(receive)() == {"type": "order.changed", "n": 1}
    async_to_sync(layer.group_discard)("order.cleared", channel)
