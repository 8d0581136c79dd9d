"""Realtime figures: PATCH → message latency across processes, and fan-out to 1,000 sockets.

    REDIS_URL=redis://127.0.0.1:6379/4 flock /tmp/printshop-heavy.lock \
        .venv/bin/python bench/realtime.py

Starts seven daphne processes on 127.0.0.1 sharing Redis (a throwaway key prefix) and a throwaway
SQLite file. On channels_redis's `RedisChannelLayer` (the production settings): A takes the
PATCHes, B holds our sockets (ws/orders/<id>/, fanned out in-process by
production/realtime/fanout.py), C
serves a minimal stock Channels consumer (bench/minimal_asgi.py) as the baseline, one channel per
socket. On its `RedisPubSubChannelLayer` (bench/pubsub_settings.py): A' takes PATCHes, D1–D3
serve plain stock consumers (group_add per socket), 1,000 sockets each: one forwarding our
finished frames on ws/orders/<id>/, the same without Channels' per-message database hop, and the
same minimal consumer as C (each in a group of its own). Prints p50/p95 and the ratios. Bounded:
fixed rounds, every wait has a timeout, the servers are stopped on exit. Goals (issue 4): latency
p95 < 50 ms; fan-out to 1,000 sockets p95 ≤ 150 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from channels_redis.pubsub import RedisPubSubChannelLayer
from redis import asyncio as aioredis
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


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> str:
    return f"p50 {pct(values, 0.5):7.1f} ms   p95 {pct(values, 0.95):7.1f} ms   n={len(values)}"


async def open_sockets(url: str, origin: str, count: int, cookie: str | None) -> list:
    headers = {"Cookie": cookie} if cookie else None
    sockets = []
    for start in range(0, count, 100):
        batch = await asyncio.gather(
            *(
                connect(url, origin=origin, additional_headers=headers, compression=None)
                for _ in range(min(100, count - start))
            )
        )
        sockets += batch
    return sockets


FIRST: dict[str, list[float]] = {}
PATCHES = itertools.count()


async def until_all_receive(sockets: list, started: float, label: str) -> float:
    """Milliseconds until the last socket has the frame (the first one's time is kept too)."""
    first: list[float] = []

    async def one(ws) -> None:
        await asyncio.wait_for(ws.recv(), timeout=30)
        if not first:
            first.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(one(ws) for ws in sockets))
    FIRST.setdefault(label, []).append(first[0])
    return (time.perf_counter() - started) * 1000


async def latency(api: Daphne, sockets_server: Daphne, seed: dict, rounds: int) -> list[float]:
    origin = sockets_server.url
    url = f"ws://127.0.0.1:{sockets_server.port}/ws/orders/{seed['order_id']}/"
    results = []
    async with connect(
        url, origin=origin, additional_headers={"Cookie": f"sessionid={seed['customer_session']}"}
    ) as ws:
        for _ in range(rounds):
            # Alternate across calls too: a PATCH to the priority the order has changes nothing.
            priority = "rush" if next(PATCHES) % 2 == 0 else "standard"
            started = time.perf_counter()
            patch = asyncio.create_task(
                asyncio.to_thread(
                    api_patch,
                    api.url,
                    seed["order_id"],
                    seed["operator_token"],
                    {"priority": priority},
                )
            )
            while True:  # the order.updated frame; its event.created follows
                frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=15))
                if frame["type"] == "order.updated":
                    break
            results.append((time.perf_counter() - started) * 1000)
            await patch
            await asyncio.wait_for(ws.recv(), timeout=15)  # event.created
    return results


def layer_and_messages(env: dict, order_id: str):
    """Our real broadcast messages for the order, built by production.broadcasts."""
    os.environ.update(env)
    import django

    django.setup()
    from channels.layers import get_channel_layer

    from production import broadcasts
    from production.realtime.frames import frames_for

    group = broadcasts.order_group(order_id)
    change = {"type": broadcasts.ORDER_CHANGED, "group": group, "order": order_id, "events": []}
    message = frames_for(change)[0]  # the order.updated frame a process builds once
    payload = json.loads(message["text"])
    return get_channel_layer(), group, message, payload


async def fan_out(
    layer, group: str, message: dict, sockets: list, rounds: int, label: str
) -> list[float]:
    results = []
    for _ in range(rounds):
        started = time.perf_counter()
        await layer.group_send(group, message)
        results.append(await until_all_receive(sockets, started, label))
        await asyncio.sleep(0.2)
    return results


async def group_size(layer, group: str) -> int:
    connection = layer.connection(layer.consistent_hash(group))
    return await connection.zcard(layer._group_key(group))


async def pubsub_channels(prefix: str) -> int:
    """Pub/sub channels any process still subscribes under `prefix` (groups and sockets)."""
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        return len(await client.pubsub_channels(f"{prefix}*"))
    finally:
        await client.aclose()


async def main_async(args, servers, seed, env, prefix) -> None:
    api, ours, minimal, pubsub_api, pubsub_stock, pubsub_direct, pubsub_minimal = servers
    layer, group, message, payload = await asyncio.to_thread(
        layer_and_messages, env, seed["order_id"]
    )
    pubsub_layer = RedisPubSubChannelLayer(hosts=[{"address": REDIS_URL}], prefix=prefix)
    cookie = f"sessionid={seed['customer_session']}"
    order_path = f"/ws/orders/{seed['order_id']}/"
    our_sockets = await open_sockets(
        f"ws://127.0.0.1:{ours.port}{order_path}", ours.url, args.sockets, cookie
    )
    minimal_sockets = await open_sockets(
        f"ws://127.0.0.1:{minimal.port}/ws/minimal/", minimal.url, args.sockets, None
    )
    pubsub_sockets = await open_sockets(
        f"ws://127.0.0.1:{pubsub_stock.port}{order_path}", pubsub_stock.url, args.sockets, None
    )
    direct_sockets = await open_sockets(
        f"ws://127.0.0.1:{pubsub_direct.port}/ws/orders-direct/{seed['order_id']}/",
        pubsub_direct.url,
        args.sockets,
        None,
    )
    pubsub_minimal_sockets = await open_sockets(
        f"ws://127.0.0.1:{pubsub_minimal.port}/ws/minimal/", pubsub_minimal.url, args.sockets, None
    )
    # This client holds 5,000 sockets; its own cyclic GC then pauses ~100 ms every few rounds,
    # which measured the client, not the servers. Everything set up so far is frozen out of it.
    gc.collect()
    gc.freeze()
    minimal_message = {"type": "bench.message", "payload": payload}
    print(f"Fan-out of one group_send to {args.sockets} sockets ({len(message['text'])} B frame):")
    rounds = args.fanout_rounds
    results = {
        "ours (fanout.py, core layer)": await fan_out(
            layer, group, message, our_sockets, rounds, "ours"
        ),
        "stock, core layer, JSON": await fan_out(
            layer, "bench.minimal", minimal_message, minimal_sockets, rounds, "minimal"
        ),
        "stock, pubsub layer, frame": await fan_out(
            pubsub_layer, group, message, pubsub_sockets, rounds, "pubsub"
        ),
        "stock, pubsub, frame, no DB hop": await fan_out(
            pubsub_layer,
            f"direct.{seed['order_id']}",
            message,
            direct_sockets,
            rounds,
            "pubsub no hop",
        ),
        "stock, pubsub layer, JSON": await fan_out(
            pubsub_layer,
            "bench.minimal",
            minimal_message,
            pubsub_minimal_sockets,
            rounds,
            "pubsub minimal",
        ),
    }
    for label, values in results.items():
        print(f"  {label:31}", summary(values))
    for label, values in FIRST.items():
        print(f"  first socket served ({label}): p50 {pct(values, 0.5):.1f} ms")
    p95 = {label: pct(values, 0.95) for label, values in results.items()}
    ours_p95, *_ = p95.values()
    for label, value in list(p95.items())[1:]:
        print(f"  ratio p95 ours / {label}: {ours_p95 / value:.2f}")

    started = time.perf_counter()
    everything = (
        our_sockets + minimal_sockets + pubsub_sockets + direct_sockets + pubsub_minimal_sockets
    )
    await asyncio.gather(*(ws.close() for ws in everything))
    for _ in range(300):  # the servers leave the groups as they process the closes
        left = (
            await group_size(layer, group),
            await group_size(layer, "bench.minimal"),
            await pubsub_channels(prefix),
        )
        if left == (0, 0, 0):
            break
        await asyncio.sleep(0.1)
    emptied = (time.perf_counter() - started) * 1000
    print(
        f"Closing all {len(everything)} sockets at once: core groups (ours, minimal) hold "
        f"{left[:2]}, pub/sub channels left {left[2]}, after {emptied:.0f} ms"
    )

    print("PATCH on one process → order.updated on a socket of another (through Redis):")
    print("  core layer, ours   ", summary(await latency(api, ours, seed, args.rounds)))
    print(
        "  pubsub layer, stock",
        summary(await latency(pubsub_api, pubsub_stock, seed, args.rounds)),
    )
    await pubsub_layer.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60, help="PATCHes for the latency figure")
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--fanout-rounds", type=int, default=20)
    args = parser.parse_args()
    if not REDIS_URL:
        sys.exit("Set REDIS_URL (e.g. redis://127.0.0.1:6379/4): the bench measures Redis.")
    prefix = unique_prefix()
    with tempfile.TemporaryDirectory() as tmp:
        env = server_env(
            f"sqlite:///{Path(tmp) / 'bench.sqlite3'}",
            REDIS_URL=REDIS_URL,
            CHANNELS_PREFIX=prefix,
            # Every socket is the one customer's: lift the per-user cap (default 20) above them.
            WS_MAX_SOCKETS_PER_USER=str(args.sockets + 10),
        )
        seed = prepare_database(env)
        pubsub_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.pubsub_settings"}
        servers = [
            Daphne(env),
            Daphne(env),
            Daphne(env, app="bench.minimal_asgi:application"),
            Daphne(pubsub_env),
            # One process per measured set, as B and C: a process's heap (its garbage collector's
            # work) grows with the sockets it holds.
            *(Daphne(pubsub_env, app="bench.minimal_asgi:application") for _ in range(3)),
        ]
        try:
            for server in servers:
                server.wait_ready()
            asyncio.run(asyncio.wait_for(main_async(args, servers, seed, env, prefix), timeout=900))
        finally:
            for server in servers:
                server.stop()
            drop_redis_keys(prefix)


if __name__ == "__main__":
    main()
