"""CPU time of an operator's everyday requests, in-process, on PostgreSQL and Redis.

    flock /tmp/printshop-heavy.lock .venv/bin/python bench/ops_requests.py [--runs 40]

A throwaway database (`test_<name>` of BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/printshop_bench_requests, created and dropped) with 30 approved
orders made through the services, and the cache in BENCH_REDIS_URL's database (default
redis://127.0.0.1:6379/9, flushed). An operator logged in with a session, through Django's test
client (DEBUG off): the ops order page, the board (its cached copy), the scan stations page, the
API's PATCH of an order's priority and a bulk priority change of 10 orders, the changes toggled
between rush and standard. Prints this process's CPU time per request (p50 and mean): on a shared
machine the steadier figure. To compare two commits, run each tree's copy alternately.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.update(
    {
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-insecure-key",
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "testserver",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/printshop_bench_requests"
        ),
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
    }
)


def cpu_per_request(label: str, request: Callable[[int], object], runs: int) -> None:
    for i in range(5):
        request(i)
    times = []
    for i in range(runs):
        started = time.process_time()
        request(i)
        times.append((time.process_time() - started) * 1000)
    p50, mean = statistics.median(times), statistics.mean(times)
    print(f"{label:28} CPU p50 {p50:6.2f} ms, mean {mean:6.2f}", flush=True)


def run(runs: int) -> None:
    from django.conf import settings
    from django.core.cache import cache
    from django.test import Client
    from django.test.utils import override_settings

    from production.lifecycle import OrderState
    from production.models import ProductionOrder
    from tests.factories import GarmentFactory, UserFactory, make_order, operator_user

    cache.clear()
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    override_settings(STORAGES=storages).enable()
    operator, garment, owner = operator_user(), GarmentFactory(), UserFactory()
    orders = [
        make_order(owner=owner, garment=garment, state=OrderState.APPROVED, operator=operator)
        for _ in range(30)
    ]
    client = Client()
    client.force_login(operator)
    patched, bulk = orders[1], [str(o.pk) for o in orders[2:12]]

    def patch(i: int) -> None:
        response = client.patch(
            f"/api/production/{patched.pk}",
            {"priority": "rush" if i % 2 == 0 else "standard"},
            content_type="application/json",
        )
        assert response.status_code == 200, response.content

    def bulk_change(i: int) -> None:
        change = "priority:rush" if i % 2 == 0 else "priority:standard"
        response = client.post(
            "/ops/orders/bulk", {"change": change, "scope": "selected", "ids": bulk, "filters": ""}
        )
        assert response.status_code == 302, response.status_code

    bulk_change(0)
    assert ProductionOrder.objects.get(pk=bulk[0]).priority == "rush"
    cpu_per_request("ops order page", lambda i: client.get(f"/ops/orders/{orders[0].pk}/"), runs)
    cpu_per_request("board read (cached)", lambda i: client.get("/ops/board/"), runs)
    cpu_per_request("scan stations page", lambda i: client.get("/ops/scan/"), runs)
    cpu_per_request("API PATCH priority", patch, runs)
    cpu_per_request("bulk change of 10 orders", bulk_change, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()

    import django
    from django.db import connection
    from django.test.utils import setup_test_environment

    django.setup()
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run(args.runs)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
