"""Server time of the production board on a shop's whole history, in PostgreSQL.

    flock /tmp/printshop-heavy.lock .venv/bin/python bench/ops_board.py [--rebuild] [--runs 50]

Builds (once) a database of its own — BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/printshop_bench_board — with the data of bench/ops_dashboard.py
(100,000 orders over two years, ~300,000 line items and events, 5,000 customers, set-based SQL),
then makes exactly 2,000 of them open (the newest paid ones: Spec Review, Queued, Printing,
Finishing, Ready; some rush, some on hold, some late) and every older paid one fulfilled or
canceled. Then it times `/ops/board/` through Django's in-process test client (DEBUG off): warm-up
runs, then `--runs` timed runs per case, printing p50/p95 in ms, the queries of one request and the
cards shown, against the goal (p95 ≤ 30 ms). At the end, the job ticket figures (see the hook).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path
from uuid import uuid4

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/printshop_bench_board"
)

# The dashboard bench's data and settings (it reads BENCH_DATABASE_URL when imported).
from bench import ops_dashboard as data  # noqa: E402

# The board keeps its reads in the shared cache (and sessions live there): Redis, as in production.
os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")

OPEN_ORDERS = 2_000
GOAL_P95_MS = 30.0


def open_exactly(count: int = OPEN_ORDERS) -> None:
    """The newest `count` paid orders become the open work, spread over the board's stages; every
    older paid order is done (fulfilled, or canceled as generated)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """
            WITH ranked AS (
                SELECT id, row_number() OVER (ORDER BY created_at DESC, id) AS n
                FROM production_productionorder WHERE status <> 'draft'
            )
            UPDATE production_productionorder p SET
                status = CASE
                    WHEN r.n > %(open)s THEN
                        CASE WHEN p.status = 'canceled' THEN 'canceled' ELSE 'fulfilled' END
                    WHEN r.n %% 20 < 5 THEN 'submitted'
                    WHEN r.n %% 20 < 9 THEN 'approved'
                    ELSE 'in_production' END,
                production_status = CASE
                    WHEN r.n > %(open)s THEN
                        CASE WHEN p.status = 'canceled' THEN p.production_status ELSE 'Ready' END
                    WHEN r.n %% 20 < 9 THEN 'Queued'
                    WHEN r.n %% 20 < 14 THEN 'Printing'
                    WHEN r.n %% 20 < 18 THEN 'Finishing'
                    ELSE 'Ready' END,
                priority = CASE
                    WHEN r.n <= %(open)s AND r.n %% 23 = 0 THEN 'hold'
                    WHEN p.priority = 'hold' AND r.n > %(open)s THEN 'standard'
                    ELSE p.priority END,
                waiting_proof_revision = CASE
                    WHEN r.n <= %(open)s AND r.n %% 20 < 2 THEN 1 ELSE NULL END
            FROM ranked r WHERE r.id = p.id
            """,
            {"open": count},
        )
        cur.execute("VACUUM ANALYZE production_productionorder")


def open_count() -> int:
    from ops.board import open_orders

    return open_orders().count()


def cases() -> list[tuple[str, str]]:
    from production.models import Garment

    garment = Garment.objects.order_by("name").first()
    return [
        ("whole board", "/ops/board/"),
        ("technique filter (screen)", "/ops/board/?technique=screen"),
        ("garment filter", f"/ops/board/?garment={garment.pk}"),
        ("technique + garment", f"/ops/board/?technique=embroidery&garment={garment.pk}"),
        ("live refresh (fragment)", "/ops/board/?fragment=1"),
    ]


def run(runs: int, warmup: int) -> list[float]:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    override_settings(STORAGES=storages).enable()
    client = Client()
    client.force_login(get_user_model().objects.get(username=data.OPERATOR))
    from django.core.cache import cache

    from production import order_reads

    def an_order_changed() -> None:
        # What every change through the services does to the board's cached copies.
        cache.set(order_reads.ORDERS_VERSION_KEY, uuid4().hex, order_reads.TTL)

    cache.clear()
    print("cold: an order changed since the last read (read from the database); warm: nothing")
    print("changed (the copy the first screen read, as every other board screen gets it)")
    print(f"{'case':36} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'cards':>6}")
    worst = {"cold": 0.0, "warm": 0.0}
    for name, url in cases():
        for mode in ("cold", "warm"):
            for _ in range(warmup):
                an_order_changed()
                response = client.get(url)
                assert response.status_code == 200, (url, response.status_code)
            timings = []
            for _ in range(runs):
                if mode == "cold":
                    an_order_changed()
                started = time.perf_counter()
                client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
            if mode == "cold":
                an_order_changed()
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
            cards = response.content.count(b'<li class="board-card')
            p50 = statistics.median(timings)
            p95 = statistics.quantiles(timings, n=20, method="inclusive")[18]
            worst[mode] = max(worst[mode], p95)
            label = f"{name} ({mode})"
            print(f"{label:36} {p50:8.1f} {p95:8.1f} {len(queries):8d} {cards:6d}", flush=True)
    for mode, p95 in worst.items():
        verdict = "met" if p95 <= GOAL_P95_MS else "NOT MET"
        print(f"goal: board p95 ≤ {GOAL_P95_MS:.0f} ms, {mode}: worst {p95:.1f} ms, {verdict}")
    return list(worst.values())


# --- job ticket PDF figures (issue 13, part 1) ---------------------------------------------------
# Goals: one ticket PDF ≤ 150 ms, a batch of 100 ≤ 10 s. bench/job_tickets.py's `main()`, called
# with Django already set up, measures on this bench's database (its 100 draft orders stay off the
# board) with its own defaults: none of our command-line options reach it.
def job_ticket_figures() -> None:
    path = ROOT / "bench" / "job_tickets.py"
    if not path.exists():
        print("job tickets: bench/job_tickets.py is not here yet (no ticket PDF figures)")
        return
    spec = importlib.util.spec_from_file_location("bench_job_tickets", path)
    module = importlib.util.module_from_spec(spec)
    argv, sys.argv = sys.argv, [str(path)]
    try:
        spec.loader.exec_module(module)
        module.main()
    finally:
        sys.argv = argv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="regenerate the data")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--no-tickets", action="store_true", help="skip the job ticket figures")
    args = parser.parse_args()

    data.ensure_database()
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    if args.rebuild or data.counts()["orders"] != data.ORDERS:
        data.generate()
    if open_count() != OPEN_ORDERS:
        open_exactly()
    print(", ".join(f"{n:,} {what}" for what, n in data.counts().items()), end="")
    print(f"; {open_count():,} open orders (database {data.DB_URL.rsplit('/', 1)[1]})")
    run(args.runs, args.warmup)
    if not args.no_tickets:
        job_ticket_figures()


if __name__ == "__main__":
    main()
