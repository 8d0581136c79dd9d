"""CPU per request on the order JSON's paths: a first webhook delivery, the frames of a change
whose JSON nobody has read (what daphne does after a payment or a bulk change), a cold GET of an
order and an operator's PATCH, each through the whole Django stack in this process.

This process's CPU time (its threads: the broadcasts' sender too) per item, and the queries of
one, on a throwaway database (`test_<name>` of `DATABASE_URL`, created and dropped), with the
cache and channel layer of the environment (give it a Redis database nothing else uses: the
frames' case deletes order versions there). CPU time moves less than wall time on a shared
machine; to judge a change run the commit before it alternately, in one sitting.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/printshop_cpu \\
        REDIS_URL=redis://127.0.0.1:6379/6 flock /tmp/printshop-heavy.lock \\
        .venv/bin/python bench/order_cpu.py [--orders 100]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "bench-only-insecure-key")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_bench_only")
os.environ.setdefault("LOG_LEVEL", "WARNING")
# No artwork worker runs here: a checkout must neither wait for a verdict (PREFLIGHT_CHECKOUT_WAIT,
# commits before decision 0069) nor be held while the check runs (PREFLIGHT_PENDING_HOLD).
os.environ.setdefault("PREFLIGHT_CHECKOUT_WAIT", "0")
os.environ.setdefault("PREFLIGHT_PENDING_HOLD", "0")

import django

django.setup()

import stripe  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402


def measure(label: str, run: Callable[[object], None], items: list) -> None:
    """Run the first item (warm-up), count the second's queries, time the rest's CPU."""
    run(items[0])
    statements = []

    def count(execute, sql, params, many, context):  # requests reset CaptureQueriesContext's log
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        run(items[1])
    started = time.process_time()
    for item in items[2:]:
        run(item)
    cpu = (time.process_time() - started) / len(items[2:])
    print(f"{label:<42} CPU {cpu * 1000:6.2f} ms   {len(statements):3d} queries")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100, help="orders per case (default 100)")
    count = max(5, parser.parse_args().orders)
    setup_test_environment()
    settings.SITE_URL = "http://bench.localhost"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run_cases(count)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run_cases(count: int) -> None:
    from payments.services import start_checkout
    from production import broadcasts, order_reads
    from production.models import ProductionOrder
    from production.realtime.frames import frames_for
    from tests.factories import GarmentFactory, UserFactory, make_order, operator_user, token_for

    garment = GarmentFactory(name="Bench Tee")
    owner = UserFactory(email="bench-owner@example.com")
    operator = operator_user(email="bench-operator@example.com")
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
        event = {"id": f"evt_cpu_{n:06d}", "object": "event", "livemode": False}
        event.update(type="checkout.session.completed", data={"object": session})
        payloads.append((order.pk, json.dumps(event)))
    ids = [order_id for order_id, _ in payloads]
    print(f"database: {connection.vendor}, {count} orders per case")

    webhook = Client()

    def deliver(item: tuple) -> None:
        payload = item[1]
        header = stripe.WebhookSignature.generate_signature_header(
            payload, settings.STRIPE_WEBHOOK_SECRET
        )
        response = webhook.post(
            "/api/stripe/webhook",
            payload,
            content_type="application/json",
            headers={"Stripe-Signature": header},
        )
        assert response.json().get("outcome") == "submitted", response.content

    def forget(order_id: object) -> None:
        # Nobody has read this version yet: the shared copy and this process's are gone.
        with order_reads._local_lock:
            order_reads._local.clear()
        cache.delete(f"order-json-version:{order_id}")

    def frames(order_id: object) -> None:
        forget(order_id)
        for group in (broadcasts.order_group(order_id), broadcasts.OPS_GROUP):
            assert frames_for({"group": group, "order": str(order_id), "events": []})

    reader = Client(HTTP_AUTHORIZATION=f"Token {token_for(owner)}")

    def cold_read(order_id: object) -> None:
        forget(order_id)
        assert reader.get(f"/api/production/{order_id}").status_code == 200

    patcher = Client(HTTP_AUTHORIZATION=f"Token {token_for(operator)}")

    def patch(order_id: object) -> None:
        response = patcher.patch(
            f"/api/production/{order_id}", {"status": "approved"}, content_type="application/json"
        )
        assert response.status_code == 200, response.content

    measure("webhook first delivery", deliver, payloads)
    measure("frames of a change nobody read (2 groups)", frames, ids)
    measure("cold GET /api/production/<id>", cold_read, ids)
    measure("PATCH status (answer included)", patch, ids)
    broadcasts.wait_until_sent()


if __name__ == "__main__":
    main()
