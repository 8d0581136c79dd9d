"""Realtime figures: PATCH → message latency across processes, and fan-out to 1,000 sockets.

    REDIS_URL=redis://127.0.0.1:6379/4 flock /tmp/printshop-heavy.lock \
        .venv/bin/python bench/realtime.py

Starts three daphne processes on 127.0.0.1 sharing Redis (a throwaway key prefix) and a throwaway
SQLite file: A takes the PATCHes, B holds our sockets (ws/orders/<id>/, fanned out in-process by
production/fanout.py), C serves a minimal stock Channels consumer (bench/minimal_asgi.py) as the
baseline, one channel per socket. Prints p50/p95 and the ratio. Bounded:
fixed rounds, every wait has a timeout, the servers are stopped on exit. Goals (issue 4): latency
p95 < 50 ms; fan-out to 1,000 sockets p95 ≤ 150 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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
        for i in range(rounds):
            priority = "rush" if i % 2 == 0 else "standard"
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


async def main_async(args, servers, seed, env) -> None:
    api, ours, minimal = servers
    layer, group, message, payload = await asyncio.to_thread(
        layer_and_messages, env, seed["order_id"]
    )
    cookie = f"sessionid={seed['customer_session']}"
    our_sockets = await open_sockets(
        f"ws://127.0.0.1:{ours.port}/ws/orders/{seed['order_id']}/", ours.url, args.sockets, cookie
    )
    minimal_sockets = await open_sockets(
        f"ws://127.0.0.1:{minimal.port}/ws/minimal/", minimal.url, args.sockets, None
    )
    # This client holds 2,000 sockets; its own cyclic GC then pauses ~100 ms every few rounds,
    # which measured the client, not the servers. Everything set up so far is frozen out of it.
    gc.collect()
    gc.freeze()
    print(f"Fan-out of one group_send to {args.sockets} sockets ({len(message['text'])} B frame):")
    ours_ms = await fan_out(layer, group, message, our_sockets, args.fanout_rounds, "ours")
    minimal_ms = await fan_out(
        layer,
        "bench.minimal",
        {"type": "bench.message", "payload": payload},
        minimal_sockets,
        args.fanout_rounds,
        "minimal",
    )
    print("  ours        ", summary(ours_ms))
    print("  minimal     ", summary(minimal_ms))
    for label, values in FIRST.items():
        print(f"  first socket served ({label}): p50 {pct(values, 0.5):.1f} ms")
    ratio = pct(ours_ms, 0.95) / pct(minimal_ms, 0.95)
    print(f"  ratio p95 ours/minimal: {ratio:.2f}")

    started = time.perf_counter()
    await asyncio.gather(*(ws.close() for ws in our_sockets + minimal_sockets))
    for _ in range(300):  # the servers leave the groups as they process the closes
        left = await group_size(layer, group), await group_size(layer, "bench.minimal")
        if left == (0, 0):
            break
        await asyncio.sleep(0.1)
    emptied = (time.perf_counter() - started) * 1000
    print(
        f"Closing all {2 * args.sockets} sockets at once: groups (ours, minimal) hold {left} "
        f"after {emptied:.0f} ms"
    )

    print("PATCH on process A → order.updated on a socket of process B (through Redis):")
    print("  latency     ", summary(await latency(api, ours, seed, args.rounds)))


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
        servers = [Daphne(env), Daphne(env), Daphne(env, app="bench.minimal_asgi:application")]
        try:
            for server in servers:
                server.wait_ready()
            asyncio.run(asyncio.wait_for(main_async(args, servers, seed, env), timeout=600))
        finally:
            for server in servers:
                server.stop()
            drop_redis_keys(prefix)


if __name__ == "__main__":
    main()
