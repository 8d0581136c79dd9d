"""Server time of the ops order list on a shop's whole history, in PostgreSQL.

    flock /tmp/printshop-heavy.lock .venv/bin/python bench/ops_dashboard.py [--rebuild] [--runs 20]

Builds (once) a database of its own — BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/printshop_bench_ops — with 100,000 orders over two years,
~300,000 line items, ~300,000 events and 5,000 customers, written with set-based SQL (this is
benchmark data, not orders: the services are not involved). Then it times Django's in-process
test client (DEBUG off) on each case: warm-up runs first, then `--runs` timed runs, printing p50/p95
in ms and the number of queries of one request. Its peer, django-oscar's dashboard order list on
the same data, is timed beside it by bench/oscar_peer.py.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/printshop_bench_ops"
)
os.environ.update(
    {
        "DATABASE_URL": DB_URL,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-insecure-key",
        "ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "false",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
)
os.environ.pop("REDIS_URL", None)  # the page itself never touches the channel layer or cache

ORDERS = 100_000
CUSTOMERS = 5_000
DAYS = 730
OPERATOR = "bench-operator@example.com"

GARMENTS = [
    ("Classic Cotton Tee", 1800),
    ("Heavyweight Hoodie", 4200),
    ("Organic Tote Bag", 1200),
    ("Long Sleeve Tee", 2400),
    ("Crewneck Sweatshirt", 3600),
    ("Zip Hoodie", 4800),
    ("Baseball Cap", 2200),
    ("Canvas Apron", 2600),
    ("Kids Tee", 1500),
    ("Tank Top", 1700),
    ("Polo Shirt", 2900),
    ("Beanie", 1900),
]
FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Chris",
    "Nancy",
    "Daniel",
    "Lisa",
    "Matthew",
    "Betty",
    "Anthony",
    "Sandra",
    "Mark",
    "Ashley",
    "Donald",
    "Kimberly",
    "Steven",
    "Emily",
    "Paul",
    "Donna",
    "Andrew",
    "Michelle",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Okafor",
    "Kowalski",
]
DOMAINS = ["example.com", "mail.example.org", "shop.example.net", "studio.example.io"]


def ensure_database() -> None:
    import psycopg

    name = DB_URL.rsplit("/", 1)[1]
    admin = DB_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def _sql_array(values: list[str]) -> str:
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def generate() -> None:
    """Fill the database in a few set-based statements (about a minute on 2 cores)."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from production.accounts.access import operators_group
    from production.models import Garment
    from production.services.catalogue import ensure_catalogue

    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE production_fulfillmentevent, production_lineitem, production_ordernote, "
            "production_productionorder, production_referencenumber, production_garment, "
            "authtoken_token, django_session, django_admin_log, ops_ticketbatch, ops_stationscan "
            "CASCADE"
        )
        cur.execute("DELETE FROM auth_user_groups")
        cur.execute("DELETE FROM auth_user")
    for i, (name, price) in enumerate(GARMENTS):
        garment = Garment.objects.create(
            shopify_gid=f"gid://shopify/Product/{700000 + i}",
            name=name,
            sizes=["XS", "S", "M", "L", "XL", "XXL"],
            base_price=price,
            size_upcharges={"XXL": 200},
            techniques=["dtg", "screen", "embroidery"],
        )
        ensure_catalogue(garment)  # its default colour, variants and front placement
    operator = get_user_model().objects.create_user(
        username=OPERATOR, email=OPERATOR, password="bench-password-unused"
    )
    operator.groups.add(operators_group())

    first, last, domains = _sql_array(FIRST), _sql_array(LAST), _sql_array(DOMAINS)
    with connection.cursor() as cur:
        cur.execute("SELECT setseed(0.42)")
        cur.execute(
            f"""
            INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email,
                                   is_staff, is_active, date_joined)
            SELECT '!', false, e, f, l, e, false, true, now() - interval '800 days'
            FROM (
                SELECT g, ({first})[fi] AS f, ({last})[li] AS l,
                       lower(({first})[fi]) || '.' || lower(({last})[li]) || g || '@'
                         || ({domains})[1 + g % {len(DOMAINS)}] AS e
                FROM (
                    SELECT g, 1 + floor(random() * {len(FIRST)})::int AS fi,
                           1 + floor(random() * {len(LAST)})::int AS li
                    FROM generate_series(1, {CUSTOMERS}) AS g
                ) AS picks
            ) AS people
            """
        )
        cur.execute(
            f"""
            CREATE TEMP TABLE bench_orders AS
            SELECT g,
                   gen_random_uuid() AS id,
                   now() - make_interval(secs => ({ORDERS} - g) * ({DAYS} * 86400.0 / {ORDERS})
                                                 + random() * 300) AS created_at,
                   random() AS r_state, random() AS r_prio, random() AS r_step,
                   1 + floor(random() * {CUSTOMERS})::int AS customer_no,
                   1 + floor(random() * {len(GARMENTS)})::int AS garment_no
            FROM generate_series(1, {ORDERS}) AS g
            """
        )
        # Old orders are done; the last month holds the open work, as on a real shop floor.
        cur.execute(
            """
            ALTER TABLE bench_orders ADD COLUMN status text, ADD COLUMN priority text;
            UPDATE bench_orders SET status = CASE
                WHEN created_at < now() - interval '30 days' THEN
                    CASE WHEN r_state < 0.93 THEN 'fulfilled' ELSE 'canceled' END
                WHEN r_state < 0.10 THEN 'draft'
                WHEN r_state < 0.30 THEN 'submitted'
                WHEN r_state < 0.50 THEN 'approved'
                WHEN r_state < 0.70 THEN 'in_production'
                WHEN r_state < 0.95 THEN 'fulfilled'
                ELSE 'canceled' END;
            UPDATE bench_orders SET priority = CASE
                WHEN r_prio < 0.15 THEN 'rush'
                WHEN r_prio < 0.20 AND status IN ('draft', 'submitted', 'approved')
                    THEN 'hold'
                ELSE 'standard' END;
            """
        )
        # One statement an execute: server-side binding refuses several in one.
        cur.execute(
            "INSERT INTO production_referencenumber (id) SELECT g FROM generate_series(1, %s) AS g",
            [ORDERS],
        )
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('production_referencenumber', 'id'), %s)",
            [ORDERS],
        )
        cur.execute(
            """
            INSERT INTO production_productionorder (
                id, reference, owner_id, status, production_status, priority, design_url, prompt,
                notes, garment_id, subtotal_amount, rush_surcharge_amount, total_amount, currency,
                total_quantity, stripe_checkout_session_id, checkout_url, idempotency_key,
                due_date, created_at, updated_at, submitted_at, shipped_quantity, technique_bits,
                delivery, shipping_amount, external_reference)
            SELECT o.id, 'ORD-' || lpad(o.g::text, 6, '0'), u.id, o.status,
                   CASE o.status
                       WHEN 'draft' THEN 'Spec Review'
                       WHEN 'in_production' THEN
                           CASE WHEN o.r_step < 0.5 THEN 'Printing'
                                WHEN o.r_step < 0.8 THEN 'Finishing' ELSE 'Ready' END
                       WHEN 'fulfilled' THEN 'Ready'
                       ELSE 'Queued' END,
                   o.priority,
                   'https://cdn.example.com/designs/' || o.g || '.png', NULL, '', gm.id,
                   0, 0, 0, 'usd', 0,
                   'cs_local_' || replace(o.id::text, '-', ''), '', NULL,
                   CASE WHEN o.status = 'draft' OR (o.status = 'canceled' AND o.r_step < 0.5)
                        THEN NULL
                        ELSE (o.created_at + interval '2 hours')::date
                             + CASE WHEN o.priority = 'rush' THEN 3 ELSE 7 END END,
                   o.created_at,
                   o.created_at + interval '3 days',
                   CASE WHEN o.status = 'draft' OR (o.status = 'canceled' AND o.r_step < 0.5)
                        THEN NULL ELSE o.created_at + interval '2 hours' END,
                   0, 0,  -- nothing shipped yet; techniques set below from the line items
                   'unknown', 0,  -- orders from before the delivery choice
                   ''  -- none from the Shopify store
            FROM bench_orders o
            JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM auth_user
                  WHERE username <> %s) u ON u.n = o.customer_no
            JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM production_garment) gm
                 ON gm.n = o.garment_no
            """,
            [OPERATOR],
        )
        cur.execute(
            """
            INSERT INTO production_lineitem (order_id, size, quantity, technique, unit_amount,
                                             metadata, color_id, sku)
            SELECT o.id, (ARRAY['XS','S','M','L','XL','XXL'])[1 + (o.g + s) % 6],
                   1 + floor(random() * 24)::int,
                   (ARRAY['dtg','dtg','screen','embroidery'])[1 + (o.g + s) % 4],
                   gm.base_price + CASE WHEN (o.g + s) % 6 = 5 THEN 200 ELSE 0 END, NULL,
                   gc.id, ''
            FROM bench_orders o
            JOIN production_productionorder p ON p.id = o.id
            JOIN production_garment gm ON gm.id = p.garment_id
            JOIN production_garmentcolor gc ON gc.garment_id = gm.id AND gc.is_default
            CROSS JOIN LATERAL generate_series(1, 1 + (o.g % 5)) AS s
            """
        )
        cur.execute(
            """
            UPDATE production_productionorder p
            SET total_quantity = t.qty, subtotal_amount = t.amount,
                rush_surcharge_amount = CASE WHEN p.priority = 'rush' THEN t.amount / 4 ELSE 0 END,
                total_amount = t.amount
                    + CASE WHEN p.priority = 'rush' THEN t.amount / 4 ELSE 0 END
            FROM (SELECT order_id, sum(quantity) AS qty, sum(quantity * unit_amount) AS amount
                  FROM production_lineitem GROUP BY order_id) t
            WHERE t.order_id = p.id
            """
        )
        # The order's techniques (production.models.TECHNIQUE_BITS), as the services keep them.
        cur.execute(
            """
            UPDATE production_productionorder p SET technique_bits = t.bits
            FROM (SELECT order_id,
                         bit_or(CASE technique WHEN 'dtg' THEN 1 WHEN 'screen' THEN 2
                                               WHEN 'embroidery' THEN 4 ELSE 0 END) AS bits
                  FROM production_lineitem GROUP BY order_id) t
            WHERE t.order_id = p.id
            """
        )
        # Created, paid (unless never paid) and the latest state: ~3 events an order.
        cur.execute(
            """
            INSERT INTO production_fulfillmentevent (order_id, kind, status, message, occurred_at,
                                                     actor_id, source, metadata)
            SELECT id, 'created', 'Spec Review', 'Order created, awaiting payment', created_at,
                   owner_id, 'customer', '{"field": "status", "to": "draft"}'::jsonb
            FROM production_productionorder
            UNION ALL
            SELECT id, 'state', 'Queued', 'Payment confirmed, order queued', submitted_at,
                   NULL, 'stripe', '{"field": "status", "to": "submitted"}'::jsonb
            FROM production_productionorder WHERE submitted_at IS NOT NULL
            UNION ALL
            SELECT id, 'state', CASE status WHEN 'canceled' THEN 'Canceled'
                                            ELSE production_status END,
                   'Now ' || status, created_at + interval '2 days', NULL, 'operator',
                   jsonb_build_object('field', 'status', 'to', status)
            FROM production_productionorder
            WHERE status NOT IN ('draft', 'submitted')
            """
        )
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    print(f"generated in {time.perf_counter() - started:.1f} s")


def counts() -> dict[str, int]:
    from django.contrib.auth import get_user_model

    from production.models import FulfillmentEvent, LineItem, ProductionOrder

    return {
        "orders": ProductionOrder.objects.count(),
        "line items": LineItem.objects.count(),
        "events": FulfillmentEvent.objects.count(),
        "customers": get_user_model().objects.exclude(username=OPERATOR).count(),
    }


def cases() -> list[tuple[str, str]]:
    import datetime as dt

    from django.utils import timezone

    from ops.paging import encode_cursor
    from production.filters import order_by_sort
    from production.models import ProductionOrder
    from production.sorting import SORTS

    today = timezone.localdate()
    customer = ProductionOrder.objects.select_related("owner").order_by("reference")[5000].owner
    sort = SORTS["-created"]
    row = order_by_sort(ProductionOrder.objects.all(), "-created")[999 * 20 - 1]
    page_1000 = encode_cursor("-created", [getattr(row, k.name) for k in sort.keys])

    def url(**params: str) -> str:
        return "/ops/orders" + ("?" + urlencode(params) if params else "")

    return [
        ("first page", url()),
        ("status filter (submitted)", url(status="submitted")),
        ("status filter (fulfilled)", url(status="fulfilled")),
        (
            "priority + date range",
            url(
                priority="rush",
                createdFrom=str(today - dt.timedelta(days=365)),
                createdTo=str(today - dt.timedelta(days=180)),
            ),
        ),
        ("search: reference prefix", url(q="ORD-0421")),
        ("search: customer email", url(q=customer.email)),
        ("search: customer name", url(q=f"{customer.first_name} {customer.last_name}")),
        ("search: last name only", url(q=customer.last_name)),
        ("sort by priority", url(sort="priority")),
        ("sort by ETA", url(sort="eta")),
        ("page 1,000", url(after=page_1000, page="1000")),
        ("last page", url(last="1")),
    ]


def run(runs: int, warmup: int) -> None:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    # No collectstatic here: plain static URLs (the manifest lookup is not what is measured).
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    override_settings(STORAGES=storages).enable()
    # The process as gunicorn's workers start it: the WSGI module freezes the start-up heap.
    import config.wsgi  # noqa: F401

    client = Client()
    client.force_login(get_user_model().objects.get(username=OPERATOR))
    print(f"{'case':34} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'rows':>5}")
    for name, url in cases():
        for _ in range(warmup):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        timings = []
        for _ in range(runs):
            started = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        rows = response.content.count(b"<tr data-order-id=")
        p50 = statistics.median(timings)
        p95 = statistics.quantiles(timings, n=20, method="inclusive")[18]
        print(f"{name:34} {p50:8.1f} {p95:8.1f} {len(queries):8d} {rows:5d}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="regenerate the data")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    args = parser.parse_args()

    ensure_database()
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    if args.rebuild or counts()["orders"] != ORDERS:
        generate()
    print(", ".join(f"{n:,} {what}" for what, n in counts().items()))
    run(args.runs, args.warmup)


if __name__ == "__main__":
    main()
