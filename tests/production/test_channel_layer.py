"""The channel layer on Redis: one subscription per process and group, and a loud, clean outage.

Against a redis-server of the test's own (stopped and restarted empty by the tests), so it needs
`redis-server` on PATH but not REDIS_URL. Every wait is on a condition, with a deadline.
"""

import asyncio
import logging
import shutil

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from production.channel_layer import PubSubChannelLayer
from tests.realtime_support import RedisServer, redis_subscriptions, unique_prefix

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="needs redis-server on PATH"
)

LOST = {"type": "channel_layer.lost"}


@pytest.fixture
def redis_server():
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def layer(redis_server):
    prefix = unique_prefix()
    layer = PubSubChannelLayer(
        hosts=[{"address": redis_server.url}], prefix=prefix, on_disconnect=LOST["type"]
    )
    layer.test_prefix = prefix
    yield layer
    await layer.flush()


async def eventually(check, timeout: float = 5.0) -> None:
    """Wait until `check()` (sync or async) is true, failing after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def subscriptions(layer, redis_server) -> dict[str, int]:
    return await redis_subscriptions(layer.test_prefix, redis_url=redis_server.url)


def group_key(layer, group: str) -> str:
    return layer._get_group_channel_name(group)


async def test_fifty_sockets_in_a_group_are_one_subscription_and_each_gets_every_frame_in_order(
    layer, redis_server
):
    channels = [await layer.new_channel() for _ in range(50)]
    for channel in channels:
        await layer.group_add("order.a", channel)
    assert (await subscriptions(layer, redis_server))[group_key(layer, "order.a")] == 1

    await layer.group_send("order.a", {"type": "order.updated", "text": "first"})
    await layer.group_send("order.a", {"type": "order.updated", "text": "second"})
    for channel in channels:
        received = [await asyncio.wait_for(layer.receive(channel), 5) for _ in range(2)]
        assert [m["text"] for m in received] == ["first", "second"]

    for channel in channels[:-1]:
        await layer.group_discard("order.a", channel)
    assert (await subscriptions(layer, redis_server))[group_key(layer, "order.a")] == 1
    await layer.group_discard("order.a", channels[-1])  # the last one leaves: so does the process

    async def unsubscribed() -> bool:
        return group_key(layer, "order.a") not in await subscriptions(layer, redis_server)

    await eventually(unsubscribed)


async def test_losing_redis_tells_every_socket_once_and_an_empty_restart_leaves_no_dead_channel(
    layer, redis_server, caplog
):
    staying, leaving = await layer.new_channel(), await layer.new_channel()
    for channel in (staying, leaving):
        await layer.group_add("order.a", channel)
        await layer.group_add("user.1", channel)

    with caplog.at_level(logging.INFO):
        await asyncio.to_thread(redis_server.stop)
        # Each socket hears it exactly once, whatever else it was waiting for.
        assert await asyncio.wait_for(layer.receive(staying), 5) == LOST
        assert await asyncio.wait_for(layer.receive(leaving), 5) == LOST
        # One socket ends while Redis is down: its receive is cancelled, it leaves its groups.
        waiting = asyncio.ensure_future(layer.receive(leaving))
        await asyncio.sleep(0)  # let it start waiting on its queue
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
        for group in ("order.a", "user.1"):
            await layer.group_discard(group, leaving)
        # A socket arriving meanwhile cannot subscribe, and leaves nothing behind.
        with pytest.raises(RedisConnectionError):
            await layer.new_channel()
        assert set(layer.channels) == {staying}
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in problems] == [
        f"Channel layer lost Redis ({problems[0].args[0]}): 2 live sockets told to reconnect"
    ]
    assert not any(r.exc_info for r in caplog.records), "no traceback"

    await asyncio.to_thread(redis_server.start)  # the same port, empty
    # The layer subscribes again by itself, to what is still watched, and to nothing else.
    watched = {staying: 1, group_key(layer, "order.a"): 1, group_key(layer, "user.1"): 1}
    await eventually(lambda: resubscribed(layer, redis_server, watched))
    await layer.group_send("order.a", {"type": "order.updated", "text": "after the outage"})
    assert (await asyncio.wait_for(layer.receive(staying), 5))["text"] == "after the outage"


async def resubscribed(layer, redis_server, expected: dict[str, int]) -> bool:
    return await subscriptions(layer, redis_server) == expected


async def test_a_publish_after_a_redis_restart_is_delivered(layer, redis_server):
    channel = await layer.new_channel()
    await layer.group_add("ops.orders", channel)
    await layer.group_send("ops.orders", {"type": "order.updated", "text": "before"})
    assert (await asyncio.wait_for(layer.receive(channel), 5))["text"] == "before"

    await asyncio.to_thread(redis_server.stop)
    assert await asyncio.wait_for(layer.receive(channel), 5) == LOST
    await asyncio.to_thread(redis_server.start)
    watched = {channel: 1, group_key(layer, "ops.orders"): 1}
    await eventually(lambda: resubscribed(layer, redis_server, watched))
    # The pool's publishing connection died with the old server: the first send retries on a
    # new one instead of failing (and losing the message).
    await layer.group_send("ops.orders", {"type": "order.updated", "text": "after"})
    assert (await asyncio.wait_for(layer.receive(channel), 5))["text"] == "after"
