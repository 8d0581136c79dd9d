"""Two daphne processes sharing Redis, as production runs: a change made through one process
reaches a socket held by the other.

The processes share a throwaway SQLite file of their own (the test is about the channel layer,
not the database), so this runs wherever REDIS_URL points at a Redis.
"""

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from tests.realtime_support import (
    REDIS_URL,
    Daphne,
    api_patch,
    drop_redis_keys,
    prepare_database,
    server_env,
    unique_prefix,
)

pytestmark = pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (a shared channel layer)")


@pytest.fixture
def two_servers(tmp_path):
    prefix = unique_prefix()
    env = server_env(
        f"sqlite:///{tmp_path / 'shared.sqlite3'}", REDIS_URL=REDIS_URL, CHANNELS_PREFIX=prefix
    )
    seed = prepare_database(env)
    servers = [Daphne(env), Daphne(env)]
    try:
        for server in servers:
            server.wait_ready()
        yield servers, seed
    finally:
        for server in servers:
            server.stop()
        drop_redis_keys(prefix)


async def test_a_patch_to_one_process_reaches_a_socket_on_the_other(two_servers):
    (api_server, socket_server), seed = two_servers
    order_id = seed["order_id"]
    url = f"ws://127.0.0.1:{socket_server.port}/ws/orders/{order_id}/"
    async with connect(
        url,
        origin=f"http://127.0.0.1:{socket_server.port}",
        additional_headers={"Cookie": f"sessionid={seed['customer_session']}"},
    ) as websocket:
        response = await asyncio.to_thread(
            api_patch, api_server.url, order_id, seed["operator_token"], {"status": "in_production"}
        )
        assert response["order"]["orderStatus"] == "in_production"

        updated = json.loads(await asyncio.wait_for(websocket.recv(), timeout=15))
        created = json.loads(await asyncio.wait_for(websocket.recv(), timeout=15))

    assert updated["type"] == "order.updated"
    assert updated["order"] == response["order"]
    assert created == {"type": "event.created", "event": response["order"]["events"][-1]}
