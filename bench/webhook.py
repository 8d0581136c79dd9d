"""Stripe webhook throughput: first deliveries vs duplicates, in events per second.

Each event goes through the whole Django stack (middleware, signature check, event log, order
change, FulfillmentEvent, on-commit broadcast) via the test client, one after another. Runs on its
own throwaway database (test_<name>), created and dropped here, and stops by itself.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/printshop_payments \\
        flock /tmp/printshop-heavy.lock .venv/bin/python bench/webhook.py --events 400
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "bench-only-insecure-key")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_bench_only")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django

django.setup()

import stripe  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

URL = "/api/stripe/webhook"


def make_payloads(count: int) -> list[str]:
    from payments.services import start_checkout
    from production.models import ProductionOrder
    from tests.factories import GarmentFactory, UserFactory, make_order

    garment = GarmentFactory(name="Bench Tee")
    owner = UserFactory(email="bench@example.com")
    payloads = []
    for n in range(count):
        order = make_order(owner=owner, garment=garment)
        start_checkout(order=order)
        order = ProductionOrder.objects.get(pk=order.pk)
        session = {
            "id": order.stripe_checkout_session_id,
            "object": "checkout.session",
            "client_reference_id": str(order.pk),
            "amount_total": order.total_amount,
            "currency": order.currency,
            "payment_status": "paid",
            "status": "complete",
            "metadata": {"orderId": str(order.pk)},
        }
        event = {
            "id": f"evt_bench_{n:06d}",
            "object": "event",
            "type": "checkout.session.completed",
            "livemode": False,
            "data": {"object": session},
        }
        payloads.append(json.dumps(event))
    return payloads


def deliver_all(client: Client, payloads: list[str], expect: str) -> tuple[list[float], float]:
    """Each delivery's time in seconds (signing included, as small as it is), and the CPU time
    this process spent on all of them (its threads: the broadcasts' sender too)."""
    times = []
    cpu = time.process_time()
    for payload in payloads:
        start = time.perf_counter()
        # Signed at delivery time, as Stripe does for each attempt.
        header = stripe.WebhookSignature.generate_signature_header(
            payload, settings.STRIPE_WEBHOOK_SECRET
        )
        response = client.post(
            URL, payload, content_type="application/json", headers={"Stripe-Signature": header}
        )
        outcome = response.json().get("outcome")
        if outcome != expect:
            raise SystemExit(f"expected {expect}, got {response.status_code} {response.content!r}")
        times.append(time.perf_counter() - start)
    return times, time.process_time() - cpu


def report(label: str, measured: tuple[list[float], float]) -> float:
    """Print the throughput, mean, median and CPU time; return the total. On a shared VM the
    wall-clock figures move with its neighbours (the same code: 6-14 ms a first delivery from one
    run to the next); this process's CPU time per delivery moves much less."""
    times, cpu = measured
    total, n = sum(times), len(times)
    print(
        f"{label:<17} {n / total:8.1f} events/s  ({total / n * 1000:.2f} ms each, "
        f"p50 {statistics.median(times) * 1000:.2f} ms, CPU {cpu / n * 1000:.2f} ms)"
    )
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=400, help="orders paid (default 400)")
    parser.add_argument(
        "--no-broadcast",
        action="store_true",
        help="skip the on-commit live-page broadcast, to see the webhook's own cost",
    )
    args = parser.parse_args()
    if args.no_broadcast:
        from production import broadcasts

        broadcasts.order_changed = lambda order, events: None
    count = max(10, min(args.events, 5000))

    setup_test_environment()
    settings.SITE_URL = "http://bench.localhost"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        payloads = make_payloads(count)
        warmup, measured = payloads[:10], payloads[10:]
        client = Client()
        deliver_all(client, warmup, "submitted")
        first = deliver_all(client, measured, "submitted")
        dupes = deliver_all(client, measured, "duplicate")
        n = len(measured)
        layer = settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]
        if args.no_broadcast:
            layer = "none (broadcast skipped)"
        print(f"database: {connection.vendor}, channel layer: {layer}, events: {n} (sequential)")
        first, dupes = report("first deliveries:", first), report("duplicates:", dupes)
        print(f"duplicate / first throughput ratio: {first / dupes:.2f}x")
        if connection.vendor != "postgresql":
            print("note: not PostgreSQL; set DATABASE_URL for the production figure")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
