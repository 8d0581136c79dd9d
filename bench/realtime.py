"""Realtime figures: PATCH → message latency across processes, and fan-out to 1,000 sockets.

    REDIS_URL=redis://127.0.0.1:6379/4 flock /tmp/printshop-heavy.lock \
        .venv/bin/python bench/realtime.py

Starts four daphne processes on 127.0.0.1 sharing Redis (throwaway key prefixes) and a throwaway
SQLite file. With the production settings (channels_redis's `RedisPubSubChannelLayer`, see
production/channel_layer.py): A takes the PATCHes, B holds our sockets (ws/orders/<id>/), D serves
the plain stock consumer forwarding the same frames (bench/minimal_asgi.py, default dispatch),
under a prefix of its own so that B's rounds do not make D work. C serves the minimal stock
consumer on the core `RedisChannelLayer` (bench/core_settings.py): the baseline, one Redis
message per socket. Prints p50/p95 and the ratios. Bounded: fixed rounds, every wait has a
timeout, the servers are stopped on exit. Goals (issue 4): latency p95 < 50 ms; fan-out to 1,000
sockets p95 ≤ 150 ms.

The side-by-side that chose the pub/sub layer over the hand-written fan-out (production/fanout.py
on the core layer) is this file as of the commit "bench/realtime.py: each pub/sub set of sockets
in a process of its own" (git log -- bench/realtime.py); its figures are in docs/decisions.md.
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

from channels_redis.core import RedisChannelLayer
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

    messages = broadcasts._messages(order_id, [])
    group, message = messages[0]
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


async def main_async(args, servers, seed, env, prefixes) -> None:
    api, ours, core_minimal, pubsub_stock = servers
    layer, group, message, payload = await asyncio.to_thread(
        layer_and_messages, env, seed["order_id"]
    )
    core_layer = RedisChannelLayer(hosts=[REDIS_URL], prefix=prefixes["core"])
    stock_layer = RedisPubSubChannelLayer(hosts=[REDIS_URL], prefix=prefixes["stock"])
    cookie = f"sessionid={seed['customer_session']}"
    order_path = f"/ws/orders/{seed['order_id']}/"
    our_sockets = await open_sockets(
        f"ws://127.0.0.1:{ours.port}{order_path}", ours.url, args.sockets, cookie
    )
    minimal_sockets = await open_sockets(
        f"ws://127.0.0.1:{core_minimal.port}/ws/minimal/", core_minimal.url, args.sockets, None
    )
    stock_sockets = await open_sockets(
        f"ws://127.0.0.1:{pubsub_stock.port}{order_path}", pubsub_stock.url, args.sockets, None
    )
    # This client holds 3,000 sockets; its own cyclic GC then pauses ~100 ms every few rounds,
    # which measured the client, not the servers. Everything set up so far is frozen out of it.
    gc.collect()
    gc.freeze()
    minimal_message = {"type": "bench.message", "payload": payload}
    print(f"Fan-out of one group_send to {args.sockets} sockets ({len(message['text'])} B frame):")
    rounds = args.fanout_rounds
    results = {
        "ours (pub/sub layer)": await fan_out(layer, group, message, our_sockets, rounds, "ours"),
        "stock, pub/sub layer, frame": await fan_out(
            stock_layer, group, message, stock_sockets, rounds, "stock pub/sub"
        ),
        "stock, core layer, JSON": await fan_out(
            core_layer, "bench.minimal", minimal_message, minimal_sockets, rounds, "stock core"
        ),
    }
    for label, values in results.items():
        print(f"  {label:28}", summary(values))
    for label, values in FIRST.items():
        print(f"  first socket served ({label}): p50 {pct(values, 0.5):.1f} ms")
    p95 = {label: pct(values, 0.95) for label, values in results.items()}
    ours_p95, *_ = p95.values()
    for label, value in list(p95.items())[1:]:
        print(f"  ratio p95 ours / {label}: {ours_p95 / value:.2f}")

    started = time.perf_counter()
    everything = our_sockets + minimal_sockets + stock_sockets
    await asyncio.gather(*(ws.close() for ws in everything))
    for _ in range(300):  # the servers leave the groups as they process the closes
        left = (
            await group_size(core_layer, "bench.minimal"),
            await pubsub_channels(prefixes["ours"]) + await pubsub_channels(prefixes["stock"]),
        )
        if left == (0, 0):
            break
        await asyncio.sleep(0.1)
    emptied = (time.perf_counter() - started) * 1000
    print(
        f"Closing all {len(everything)} sockets at once: the core group holds {left[0]}, "
        f"pub/sub channels left {left[1]}, after {emptied:.0f} ms"
    )

    print("PATCH on process A → order.updated on a socket of process B (through Redis):")
    print("  latency     ", summary(await latency(api, ours, seed, args.rounds)))
    await stock_layer.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60, help="PATCHes for the latency figure")
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--fanout-rounds", type=int, default=20)
    args = parser.parse_args()
    if not REDIS_URL:
        sys.exit("Set REDIS_URL (e.g. redis://127.0.0.1:6379/4): the bench measures Redis.")
    prefix = unique_prefix()
    prefixes = {"ours": prefix, "stock": f"{prefix}s", "core": f"{prefix}c"}
    with tempfile.TemporaryDirectory() as tmp:
        env = server_env(
            f"sqlite:///{Path(tmp) / 'bench.sqlite3'}",
            REDIS_URL=REDIS_URL,
            CHANNELS_PREFIX=prefix,
            # Every socket is the one customer's: lift the per-user cap (default 20) above them.
            WS_MAX_SOCKETS_PER_USER=str(args.sockets + 10),
        )
        seed = prepare_database(env)
        core_env = {
            **env,
            "DJANGO_SETTINGS_MODULE": "bench.core_settings",
            "CHANNELS_PREFIX": prefixes["core"],
        }
        minimal = "bench.minimal_asgi:application"
        servers = [
            Daphne(env),
            Daphne(env),
            Daphne(core_env, app=minimal),
            Daphne({**env, "CHANNELS_PREFIX": prefixes["stock"]}, app=minimal),
        ]
        try:
            for server in servers:
                server.wait_ready()
            asyncio.run(
                asyncio.wait_for(main_async(args, servers, seed, env, prefixes), timeout=900)
            )
        finally:
            for server in servers:
                server.stop()
            for each in prefixes.values():
                drop_redis_keys(each)


if __name__ == "__main__":
    main()
