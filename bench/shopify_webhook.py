"""Shopify orders/paid webhook: a store order's first delivery beside a duplicate, per second.

Each delivery goes through the whole Django stack with the test client (middleware, HMAC check on
the raw body, the delivery row and its task in one transaction), one after another; then the task
worker's share, the production order made of each delivery (`process_delivery`), is timed on its
own. Runs on its own throwaway database (test_<name>), created and dropped here.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/printshop_shopify \\
        flock /tmp/printshop-heavy.lock .venv/bin/python bench/shopify_webhook.py --orders 300
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "bench-only-insecure-key")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SHOPIFY_API_SECRET", "shpss_bench_only")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

URL = "/shopify/webhooks/"


def make_deliveries(count: int) -> list[tuple[str, bytes]]:
    """(webhook id, body) of `count` paid store orders of a tee in the catalogue."""
    from shopify import catalogue
    from shopify.simulator import FakeStore

    store = FakeStore()
    product = store.add_product("Bench Tee")
    catalogue.apply_product(store._product_node(product))
    variant = product.variants[1]
    design = {"Design": "https://cdn.example.com/bench.png"}
    return [
        (str(uuid.uuid4()), json.dumps(store.paid_order([(variant, 2, design)])).encode())
        for _ in range(count)
    ]


def deliver(client: Client, webhook_id: str, body: bytes, expect: str) -> None:
    from shopify.simulator import sign

    response = client.post(
        URL,
        body,
        content_type="application/json",
        headers={
            "X-Shopify-Topic": "orders/paid",
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Hmac-Sha256": sign(body, settings.SHOPIFY_API_SECRET),
            "X-Shopify-Shop-Domain": "bench.myshopify.com",
        },
    )
    outcome = response.json().get("outcome")
    if outcome != expect:
        raise SystemExit(f"expected {expect}, got {response.status_code} {response.content!r}")


def timed(run, items) -> tuple[list[float], float]:
    times, cpu = [], time.process_time()
    for item in items:
        start = time.perf_counter()
        run(item)
        times.append(time.perf_counter() - start)
    return times, time.process_time() - cpu


def report(label: str, measured: tuple[list[float], float]) -> float:
    times, cpu = measured
    total, n = sum(times), len(times)
    print(
        f"{label:<24} {n / total:8.1f} /s  ({total / n * 1000:.2f} ms each, "
        f"p50 {statistics.median(times) * 1000:.2f} ms, CPU {cpu / n * 1000:.2f} ms)"
    )
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=300, help="store orders (default 300)")
    count = max(10, min(parser.parse_args().orders, 5000))
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from production.models import ProductionOrder
        from shopify.models import WebhookDelivery
        from shopify.services import process_delivery

        deliveries = make_deliveries(count)
        client = Client()
        warmup, measured = deliveries[:10], deliveries[10:]
        for webhook_id, body in warmup:
            deliver(client, webhook_id, body, "queued")
        first = timed(lambda d: deliver(client, d[0], d[1], "queued"), measured)
        dupes = timed(lambda d: deliver(client, d[0], d[1], "duplicate"), measured)
        ids = list(WebhookDelivery.objects.order_by("pk").values_list("pk", flat=True))
        for pk in ids[:10]:
            process_delivery(pk)
        made = timed(process_delivery, ids[10:])
        if ProductionOrder.objects.count() != count:
            raise SystemExit("not every delivery made its production order")
        print(f"database: {connection.vendor}, store orders: {len(measured)} (sequential)")
        first_total = report("first deliveries:", first)
        dupes_total = report("duplicates:", dupes)
        report("task: order made:", made)
        print(f"duplicate / first throughput ratio: {first_total / dupes_total:.2f}x")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
