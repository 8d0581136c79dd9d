"""Bulk changes on the ops dashboard: one POST /ops/orders/bulk on N selected orders.

    flock /tmp/printshop-heavy.lock .venv/bin/python bench/ops_bulk.py [--orders 100] [--rounds 5]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/printshop_o flock ... bench/ops_bulk.py

Runs on a throwaway database of its own (a SQLite file in /tmp by default, `test_<name>` on
PostgreSQL), created and dropped here. Each round makes N fresh orders (set-based inserts: bench
data, not the services), then times one bulk request through Django's test client (DEBUG off,
the channel layer and cache of the environment: in-memory, or Redis with REDIS_URL) for three
changes: approve submitted orders, set rush priority, fulfil orders that are Ready (each one also
records and queues a customer mail). Prints the median and best time per request and the number
of queries of one request, per order.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
for name, value in {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-insecure-key",
    "SECURE_SSL_REDIRECT": "false",
    "ALLOWED_HOSTS": "testserver",
    "LOG_LEVEL": "WARNING",
}.items():
    os.environ.setdefault(name, value)
warnings.filterwarnings("ignore", message="No directory at")  # no collectstatic here

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from production.models import ProductionOrder  # noqa: E402

# (label, change posted, state, production status the orders start in)
CASES = [
    ("approve (submitted → approved)", "status:approved", "submitted", "Queued"),
    ("priority → rush", "priority:rush", "submitted", "Queued"),
    ("fulfil (Ready → fulfilled, mail)", "status:fulfilled", "in_production", "Ready"),
]


def make_orders(count: int, *, status: str, production_status: str) -> list[uuid.UUID]:
    from production.models import FulfillmentEvent, Garment, LineItem
    from production.services.catalogue import ensure_catalogue
    from tests.factories import UserFactory

    garment = Garment.objects.get(name="Bench Tee")
    ensure_catalogue(garment)  # its default colour, which every line item has
    color = garment.colors.get(is_default=True)
    owners = [UserFactory() for _ in range(5)]
    now = timezone.now()
    orders = [
        ProductionOrder(
            id=uuid.uuid4(),
            reference=f"ORD-B{uuid.uuid4().hex[:10]}",
            owner=owners[n % len(owners)],
            status=status,
            production_status=production_status,
            priority="standard",
            design_url="https://cdn.example.com/design.png",
            garment=garment,
            subtotal_amount=9000,
            total_amount=9000,
            currency="usd",
            total_quantity=5,
            submitted_at=now,
            due_date=timezone.localdate() + dt.timedelta(days=7),
        )
        for n in range(count)
    ]
    ProductionOrder.objects.bulk_create(orders)
    LineItem.objects.bulk_create(
        LineItem(order=order, color=color, size=size, quantity=quantity, unit_amount=1800)
        for order in orders
        for size, quantity in (("M", 2), ("L", 3))
    )
    FulfillmentEvent.objects.bulk_create(
        FulfillmentEvent(
            order=order,
            kind=FulfillmentEvent.Kind.STATE,
            status=production_status,
            message="bench",
            occurred_at=now,
            source="operator",
            metadata={},
        )
        for order in orders
        for _ in range(3)
    )
    return [order.pk for order in orders]


def bulk(client: Client, change: str, ids: list[uuid.UUID]) -> tuple[float, int]:
    connection.queries_log.clear()  # it keeps 9,000 queries: the count would be off past them
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.post(
            "/ops/orders/bulk", {"change": change, "scope": "selected", "ids": ids}
        )
        elapsed = time.perf_counter() - started
    assert response.status_code == 302, response.status_code
    field, value = change.split(":")
    changed = ProductionOrder.objects.filter(pk__in=ids, **{field: value}).count()
    assert changed == len(ids), f"{change}: {changed} of {len(ids)} orders changed"
    return elapsed, len(queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100, help="orders per request (≤ 200)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    count = max(1, min(args.orders, 200))

    setup_test_environment()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    if connection.vendor == "sqlite":
        # A file, as deployed (WAL, a real commit per order), not SQLite's in-memory test database.
        path = Path(tempfile.gettempdir()) / f"bench_ops_bulk_{os.getpid()}.sqlite3"
        connection.settings_dict["TEST"]["NAME"] = str(path)
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from tests.factories import GarmentFactory, operator_user

        GarmentFactory(name="Bench Tee")
        client = Client()
        client.force_login(operator_user(email="bench-operator@example.com"))
        layer = settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]
        print(f"database: {connection.vendor}, channel layer: {layer}, {count} orders a request")
        print(f"{'change':34} {'median s':>9} {'best s':>7} {'ms/order':>9} {'queries/order':>14}")
        for label, change, status, production_status in CASES:
            bulk(client, change, make_orders(5, status=status, production_status=production_status))
            timings, queries = [], 0
            for _ in range(args.rounds):
                ids = make_orders(count, status=status, production_status=production_status)
                elapsed, queries = bulk(client, change, ids)
                timings.append(elapsed)
            median = statistics.median(timings)
            print(
                f"{label:34} {median:9.3f} {min(timings):7.3f} {median / count * 1000:9.2f}"
                f" {queries / count:14.2f}",
                flush=True,
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
