"""Server time of job tickets, in PostgreSQL: one ticket's PDF, and a batch of 100.

    flock /tmp/printshop-heavy.lock .venv/bin/python bench/job_tickets.py [--runs 30] [--batches 3]

Uses a database of its own — BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/printshop_bench_tickets — with 100 orders made through the
services (sizes, techniques, notes, a third rush). Half the designs are a 1600 × 1600 PNG on this
site's static files (read from disk and thumbnailed, then cached as in production), half an SVG
(placeholder). DEBUG off, in-process:
- one ticket: Django's test client POSTs the order page's "Print job ticket" (the whole request:
  the orders' read, the PDF, the event), warm-up runs first, then p50/p95 over `--runs`;
- a batch of 100: the list's request queues it, then the worker's task builds it (the PDF, its
  storage, the events), timed together, `--batches` times.
Goals (issue 13): one ticket ≤ 150 ms, a batch of 100 ≤ 10 s.

`measure()` runs the same on an already configured Django (bench/ops_board.py calls it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TICKET_GOAL_MS = 150
BATCH_GOAL_S = 10
BATCH_SIZE = 100
OPERATOR = "bench-tickets-operator@example.com"
CUSTOMER = "bench-tickets-customer@example.com"
GARMENT_GID = "gid://shopify/Product/bench-tickets"
DESIGN_PNG = "bench-tickets/design.png"


def configure_environment() -> None:
    db_url = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/printshop_bench_tickets"
    )
    os.environ.update(
        {
            "DATABASE_URL": db_url,
            "DEBUG": "false",
            "SECRET_KEY": "bench-only-insecure-key",
            "ALLOWED_HOSTS": "testserver",
            "SECURE_SSL_REDIRECT": "false",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
    )
    os.environ.pop("REDIS_URL", None)


def ensure_database() -> None:
    import psycopg

    db_url = os.environ["DATABASE_URL"]
    name = db_url.rsplit("/", 1)[1]
    admin = db_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def design_fixture() -> None:
    """A 1600 × 1600 PNG among this site's static files, as a customer's uploaded design would be
    (a noisy image, so it does not compress to nothing)."""
    from django.conf import settings
    from django.contrib.staticfiles import finders
    from PIL import Image

    folder = Path(tempfile.gettempdir()) / "printshop-bench-static"
    target = folder / DESIGN_PNG
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        noise = Image.effect_noise((1600, 1600), 64).convert("RGB")
        noise.save(target, format="PNG")
    settings.STATICFILES_DIRS = [*settings.STATICFILES_DIRS, folder]
    finders.get_finder.cache_clear()


def bench_orders() -> list:
    """BATCH_SIZE orders for the bench (made once, through the services)."""
    from django.contrib.auth import get_user_model

    from production.accounts.access import operators_group
    from production.lifecycle import Priority
    from production.models import Garment, LineItem, ProductionOrder
    from production.pricing import SizeQuantity
    from production.services.orders import create_draft_order, refresh_technique_bits

    users = get_user_model().objects
    operator, created = users.get_or_create(username=OPERATOR, defaults={"email": OPERATOR})
    if created:
        operator.groups.add(operators_group())
    customer, _ = users.get_or_create(
        username=CUSTOMER, defaults={"email": CUSTOMER, "first_name": "Bench", "last_name": "Buyer"}
    )
    garment, _ = Garment.objects.get_or_create(
        shopify_gid=GARMENT_GID,
        defaults={
            "name": "Heavyweight Hoodie",
            "sizes": ["XS", "S", "M", "L", "XL", "XXL"],
            "base_price": 4200,
            "techniques": ["dtg", "screen", "embroidery"],
        },
    )
    orders = list(ProductionOrder.objects.filter(garment=garment).order_by("reference"))
    for i in range(len(orders), BATCH_SIZE):
        order = create_draft_order(
            owner=customer,
            garment_gid=GARMENT_GID,
            design_url=f"http://testserver/static/{DESIGN_PNG}"
            if i % 2
            else "http://testserver/static/demo/design-1.svg",
            sizes=[SizeQuantity(s, 2 + (i + n) % 9) for n, s in enumerate(["S", "M", "L", "XL"])],
            priority=Priority.RUSH if i % 3 == 0 else Priority.STANDARD,
            notes="Print 28 cm wide, centred 8 cm below the collar. Pack per size. " * 3,
        )
        LineItem.objects.filter(order=order, size__in=["L", "XL"]).update(technique="screen")
        refresh_technique_bits([order.pk])
        orders.append(order)
    return [operator, *orders]


def measure(*, runs: int = 30, warmup: int = 5, batches: int = 3) -> dict[str, float]:
    """Time one ticket and a batch of 100 on the configured database; print and return them."""
    from django.test import Client
    from django.urls import reverse

    from ops import tickets
    from ops.models import TicketBatch
    from production.models import FulfillmentEvent

    design_fixture()
    operator, *orders = bench_orders()
    client = Client()
    client.force_login(operator)

    timings = []
    for i in range(warmup + runs):
        order = orders[i % len(orders)]
        started = time.perf_counter()
        response = client.post(reverse("ops:order-ticket", args=[order.pk]))
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200 and response.content.startswith(b"%PDF"), response
        if i >= warmup:
            timings.append(elapsed)
    p50 = statistics.median(timings)
    p95 = statistics.quantiles(timings, n=20)[-1]
    print(
        f"one ticket PDF (POST the order page's button): p50 {p50:.1f} ms, p95 {p95:.1f} ms "
        f"(goal ≤ {TICKET_GOAL_MS} ms p95), {runs} runs after {warmup} warm-up"
    )

    ids = [order.pk for order in orders]
    batch_times = []
    for _ in range(batches):
        started = time.perf_counter()
        response = client.post(
            reverse("ops:ticket-print"), {"scope": "selected", "ids": [str(i) for i in ids]}
        )
        batch = TicketBatch.objects.get(pk=response["Location"].rstrip("/").rsplit("/", 1)[1])
        assert tickets.build_ticket_batch.call(str(batch.pk)) == "ready"
        batch_times.append(time.perf_counter() - started)
        batch.refresh_from_db()
        size = batch.file.size
        batch.file.delete(save=False)
    worst = max(batch_times)
    print(
        f"batch of {len(ids)} tickets (queued, built by the worker's task, stored): "
        f"{statistics.median(batch_times):.2f} s median, {worst:.2f} s worst of {batches} "
        f"(goal ≤ {BATCH_GOAL_S} s), {size / 1024:,.0f} kB PDF"
    )
    # The bench's events are bench data: keep the table from growing run after run.
    FulfillmentEvent.objects.filter(
        kind=FulfillmentEvent.Kind.JOB_TICKET, order_id__in=ids
    ).delete()
    return {"ticket_p50_ms": p50, "ticket_p95_ms": p95, "batch_100_s": worst}


def main(argv: list[str] | None = None) -> None:
    """Standalone: set up its own database and measure. Called from another bench whose Django
    is already set up (bench/ops_board.py), it measures on that bench's database instead, and
    ignores that bench's own command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batches", type=int, default=3)
    args, _ = parser.parse_known_args(argv)

    from django.apps import apps

    if apps.ready:
        measure(runs=args.runs, warmup=args.warmup, batches=args.batches)
        return
    configure_environment()
    ensure_database()
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    measure(runs=args.runs, warmup=args.warmup, batches=args.batches)


if __name__ == "__main__":
    main()
