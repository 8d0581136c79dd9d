"""Stripe webhook throughput: first deliveries vs duplicates, in events per second.

Each event goes through the whole Django stack (middleware, signature check, event log, order
change, FulfillmentEvent, on-commit broadcast) via the test client, one after another. Runs on its
own throwaway database (test_<name>), created and dropped here, and stops by itself.

On PostgreSQL each first delivery alternates with a replay of the statements a delivery sends,
for another order, through the bare driver (no Django, no ORM): the floor this machine's database
round trips set, printed beside the delivery as a ratio.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/printshop_payments \\
        flock /tmp/printshop-heavy.lock .venv/bin/python bench/webhook.py --events 400
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

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
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from production.plumbing.postgres.base import _reads  # noqa: E402

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


def deliver(client: Client, payload: str, expect: str) -> None:
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


def deliver_all(client: Client, payloads: list[str], expect: str) -> tuple[list[float], float]:
    """Each delivery's time in seconds (signing included, as small as it is), and the CPU time
    this process spent on all of them (its threads: the broadcasts' sender too)."""
    times = []
    cpu = time.process_time()
    for payload in payloads:
        start = time.perf_counter()
        deliver(client, payload, expect)
        times.append(time.perf_counter() - start)
    return times, time.process_time() - cpu


# --- the database's share: the same statements through a bare cursor ----------------------------

Statement = tuple[bool, str, Any]  # (in the transaction, SQL, parameters)


def record_statements(client: Client, payload: str) -> list[Statement]:
    """Deliver one event, keeping every statement Django sends for it, as sent."""
    statements: list[Statement] = []

    def keep(execute, sql, params, many, context):
        statements.append((context["connection"].in_atomic_block, sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        deliver(client, payload, "submitted")
    return statements


def identifiers(payload: str) -> dict[Any, Any]:
    event = json.loads(payload)
    session = event["data"]["object"]
    order_id = session["client_reference_id"]
    return {
        "event": event["id"],
        "session": session["id"],
        "order": order_id,
        "uuid": UUID(order_id),
    }


def replay(template: list[Statement], recorded: str, payload: str) -> None:
    """The recorded delivery's statements for another order and event, through Django's own
    psycopg connection but none of Django (one round trip each, BEGIN and COMMIT included, and the
    transaction id production.plumbing.postgres asks before a COMMIT): what a first delivery costs
    the
    database and the network, with no Python above the driver."""
    old, new = identifiers(recorded), identifiers(payload)
    swap = {old[key]: new[key] for key in old}

    def swapped(value: Any) -> Any:
        if isinstance(value, UUID) and value not in swap:
            swap[value] = uuid4()  # another row's own key (the receipt's task): a fresh one
        return swap.get(value, value) if isinstance(value, str | UUID) else value

    def params_for(params: Any) -> Any:
        return tuple(swapped(value) for value in params)

    raw = connection.connection
    with raw.cursor() as cursor:
        for atomic, group in itertools.groupby(template, key=lambda statement: statement[0]):
            run = list(group)
            with raw.transaction() if atomic else contextlib.nullcontext():
                for _, sql, params in run:
                    cursor.execute(sql, params_for(params))
                if atomic and writes(run):
                    cursor.execute(XID)  # as production.plumbing.postgres does before a COMMIT


XID = "SELECT pg_current_xact_id_if_assigned()::text"


def writes(transaction: list[Statement]) -> bool:
    """Whether production.plumbing.postgres asks this transaction's id before committing it."""
    if not hasattr(connection, "committed_writes"):
        return False
    return not all(_reads(sql) for _, sql, _ in transaction)


def alternate(
    client: Client, payloads: list[str], template: list[Statement], recorded: str, others: list[str]
) -> tuple[tuple[list[float], float], tuple[list[float], float]]:
    """First deliveries, each followed by its statements replayed bare for another order, so the
    two share the machine's mood: their times and CPU, as deliver_all gives them."""
    times: tuple[list[float], list[float]] = ([], [])
    cpu = [0.0, 0.0]
    for payload, other in zip(payloads, others, strict=True):
        runs = (
            functools.partial(deliver, client, payload, "submitted"),
            functools.partial(replay, template, recorded, other),
        )
        for side, run in enumerate(runs):
            start, started = time.perf_counter(), time.process_time()
            run()
            times[side].append(time.perf_counter() - start)
            cpu[side] += time.process_time() - started
    # The replays did what the deliveries do: every other order is submitted.
    from production.models import ProductionOrder

    ids = [identifiers(other)["uuid"] for other in others]
    submitted = ProductionOrder.objects.filter(pk__in=ids, status="submitted").count()
    if submitted != len(ids):
        raise SystemExit(f"the bare replay submitted {submitted} of {len(ids)} orders")
    return (times[0], cpu[0]), (times[1], cpu[1])


def report(label: str, measured: tuple[list[float], float]) -> float:
    """Print the throughput, mean, median and CPU time; return the total. On a shared VM the
    wall-clock figures move with its neighbours (the same code: 6-17 ms a first delivery from one
    day to the next); this process's CPU time per delivery moves much less."""
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
        bare_sql = connection.vendor == "postgresql"
        payloads = make_payloads(2 * count - 10 if bare_sql else count)
        warmup, measured, others = payloads[:10], payloads[10:count], payloads[count:]
        client = Client()
        deliver_all(client, warmup[:-1], "submitted")
        template = record_statements(client, warmup[-1])
        if bare_sql:
            first, bare = alternate(client, measured, template, warmup[-1], others)
        else:
            first = deliver_all(client, measured, "submitted")
        dupes = deliver_all(client, measured, "duplicate")
        n = len(measured)
        layer = settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]
        if args.no_broadcast:
            layer = "none (broadcast skipped)"
        print(f"database: {connection.vendor}, channel layer: {layer}, events: {n} (sequential)")
        first, dupes = report("first deliveries:", first), report("duplicates:", dupes)
        print(f"duplicate / first throughput ratio: {first / dupes:.2f}x")
        if bare_sql:
            groups = [
                list(g) for atomic, g in itertools.groupby(template, lambda s: s[0]) if atomic
            ]
            statements = len(template) + 2 * len(groups) + sum(writes(g) for g in groups)
            bare = report("the same SQL bare:", bare)
            print(
                f"  ({statements} round trips, BEGIN, COMMIT and the id asked before it included, "
                "alternating with the first deliveries)\n"
                f"first delivery / its SQL alone: {first / bare:.2f}x"
            )
        if connection.vendor != "postgresql":
            print("note: not PostgreSQL; set DATABASE_URL for the production figure")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
