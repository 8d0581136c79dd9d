"""Live sockets when Redis stops: they close with 4503, and once Redis is back (even empty) the
pages' reconnects join their groups afresh and hear the next change.

Runs against a redis-server of its own on a free port (stopped and restarted by the test), so it
needs `redis-server` on PATH but not REDIS_URL.
"""

import asyncio
import json
import logging
import shutil

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.db import connections
from django.test import Client
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError

from production import broadcasts
from production.lifecycle import EventSource, OrderState
from production.models import ProductionOrder
from production.services.orders import transition_order
from tests.factories import make_order, operator_user
from tests.realtime_support import (
    Daphne,
    RedisServer,
    api_patch,
    close_code,
    layer_settings,
    prepare_database,
    server_env,
    session_key_for,
    socket_to,
    unique_prefix,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server on PATH"),
]

CLOSED_UNAVAILABLE = {"type": "websocket.close", "code": 4503}


@pytest.fixture
def own_redis(settings):
    server = RedisServer()
    server.start()
    settings.CHANNEL_LAYERS = layer_settings(unique_prefix(), redis_url=server.url)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
async def _close_worker_thread_connections():
    yield
    await sync_to_async(connections.close_all)()


@database_sync_to_async
def approved_order_and_operator():
    operator = operator_user()
    order = make_order(state=OrderState.APPROVED, operator=operator)
    # Making it (submit, approve) is announced by this process's sender thread: let that leave
    # before any socket opens, or a socket may hear it where the test expects its close.
    assert broadcasts.wait_until_sent()
    return ProductionOrder.objects.select_related("owner").get(pk=order.pk), operator


@database_sync_to_async
def start_production(order, operator):
    transition_order(
        order=order, to=OrderState.IN_PRODUCTION, actor=operator, source=EventSource.OPERATOR
    )


@database_sync_to_async
def log_out(session_key: str) -> None:
    client = Client()
    client.cookies["sessionid"] = session_key
    assert client.post("/accounts/logout/").status_code == 302


async def opened(path: str, session_key: str):
    communicator = socket_to(path, session_key=session_key)
    assert (await communicator.connect())[0]
    assert await communicator.receive_nothing(timeout=0.1), await communicator.receive_output()
    return communicator


async def test_sockets_close_with_4503_and_after_an_empty_restart_hear_the_next_change(
    own_redis, caplog
):
    order, operator = await approved_order_and_operator()
    owner_key = await database_sync_to_async(session_key_for)(order.owner)
    operator_key = await database_sync_to_async(session_key_for)(operator)
    page_path = f"/ws/orders/{order.pk}/"
    page = await opened(page_path, owner_key)
    ops_list = await opened("/ws/ops/orders/", operator_key)
    operator_page = await opened(page_path, operator_key)

    with caplog.at_level(logging.INFO):
        await asyncio.to_thread(own_redis.stop)
        for communicator in (page, ops_list, operator_page):
            assert await communicator.receive_output(timeout=5) == CLOSED_UNAVAILABLE
            await communicator.disconnect()  # leaving groups on a Redis that is down
        # A page reconnecting meanwhile is accepted and closed the same way, to back off.
        assert await close_code(socket_to(page_path, session_key=owner_key)) == 4503
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [r for r in problems if r.exc_info], "no traceback per socket"
    assert len(problems) <= 2  # the fan-out's line and the consumers' (rate-limited) line

    await asyncio.to_thread(own_redis.start)  # same port, no data: every group is gone
    page = await opened(page_path, owner_key)
    ops_list = await opened("/ws/ops/orders/", operator_key)
    await start_production(order, operator)

    updated = await page.receive_json_from(timeout=5)
    assert updated["type"] == "order.updated"
    assert updated["order"]["orderStatus"] == "in_production"
    row = await ops_list.receive_json_from(timeout=5)
    assert row["order"]["id"] == str(order.pk)
    # The socket's own groups were joined afresh too: logging out still closes the page.
    assert (await page.receive_json_from(timeout=5))["type"] == "event.created"
    await log_out(owner_key)
    assert await page.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    await page.disconnect()
    await ops_list.disconnect()


async def test_a_daphne_process_closes_its_sockets_with_4503_and_serves_them_after_a_restart(
    own_redis, tmp_path
):
    # The same through a real server: daphne passes the close code on and serves again afterwards.
    env = server_env(
        f"sqlite:///{tmp_path / 'outage.sqlite3'}",
        REDIS_URL=own_redis.url,
        CHANNELS_PREFIX=unique_prefix(),
    )
    seed = await asyncio.to_thread(prepare_database, env)
    server = Daphne(env)
    try:
        await asyncio.to_thread(server.wait_ready)
        url = f"ws://127.0.0.1:{server.port}/ws/orders/{seed['order_id']}/"
        options = {
            "origin": f"http://127.0.0.1:{server.port}",
            "additional_headers": {"Cookie": f"sessionid={seed['customer_session']}"},
        }
        async with connect(url, **options) as websocket:
            await asyncio.to_thread(own_redis.stop)
            with pytest.raises(ConnectionClosedError) as closed:
                await asyncio.wait_for(websocket.recv(), timeout=5)
        assert closed.value.rcvd.code == 4503

        await asyncio.to_thread(own_redis.start)  # empty: sessions and tokens come from the DB
        async with connect(url, **options) as websocket:
            response = await asyncio.to_thread(
                api_patch,
                server.url,
                seed["order_id"],
                seed["operator_token"],
                {"status": "in_production"},
            )
            updated = json.loads(await asyncio.wait_for(websocket.recv(), timeout=5))
        assert updated["order"] == response["order"]
        assert "Traceback" not in server.output(), server.output()
    finally:
        await asyncio.to_thread(server.stop)
