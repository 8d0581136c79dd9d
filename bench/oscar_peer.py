"""Our ops order list beside django-oscar's dashboard order list, on 100,000 orders each.

    flock /tmp/printshop-heavy.lock .venv/bin/python bench/oscar_peer.py [--rounds 3] [--runs 20]

The peer: django-oscar (OSCAR_VERSION, from PyPI) in a virtualenv of its own under
.cache/oscar-peer/ (created on the first run; never one of our dependencies), with minimal
settings written there (oscar's app list, its middleware and context processors, DEBUG off; no
code of oscar's is copied here) and a PostgreSQL database of its own, OSCAR_PEER_DATABASE_URL
(default printshop_bench_oscar), built once (`--rebuild` to regenerate) with set-based SQL as
bench/ops_dashboard.py builds ours: 100,000 orders over two years, 1–5 lines each (~300,000),
~3 status changes each, a shipping address each, 5,000 customers, the same statuses.

Ours: bench/ops_dashboard.py of `--ours DIR` (default this checkout; its .venv), run as it is and
its printed table read, so any commit with that script can be measured (its database:
BENCH_DATABASE_URL, as the script reads it). Both are timed the same way: Django's test client in
process, DEBUG off, signed in as staff, `--warmup` requests then `--runs` timed ones per case,
p50/p95. The two run alternately, `--rounds` times each (oscar first in odd rounds), and the table
gives the median over the rounds of each p50/p95 and ours/oscar of the p95 (goal ≤ 0.2).

Cases where oscar has an equivalent: first page, status filters, order-number prefix, customer
name (first and last; last alone), page 1,000, the last page, and two sorts (oscar sorts by
number or total only: paired with ours by priority and by ETA, as "a sort other than the
default"). Ours' e-mail search and priority + date range have no oscar equivalent.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
CACHE = ROOT / ".cache" / "oscar-peer"
OSCAR_VERSION = "4.2.1"  # the latest on PyPI (2026-12); Django 5.2, Python 3.11
OSCAR_DB = os.environ.get(
    "OSCAR_PEER_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/printshop_bench_oscar"
)
GOAL = 0.2

# (case, ours' case in bench/ops_dashboard.py, oscar's query string; None: found in the data)
CASES = [
    ("first page", "first page", ""),
    ("status filter (submitted)", "status filter (submitted)", "status=submitted"),
    ("status filter (fulfilled)", "status filter (fulfilled)", "status=fulfilled"),
    ("number prefix", "search: reference prefix", "order_number=ORD-0421"),
    ("customer name", "search: customer name", None),
    ("surname only", "search: last name only", None),
    ("sort (ours priority, oscar total)", "sort by priority", "sort=total_incl_tax&dir=desc"),
    ("sort (ours ETA, oscar number)", "sort by ETA", "sort=number&dir=asc"),
    ("page 1,000", "page 1,000", "page=1000"),
    ("last page", "last page", "page=last"),
]

ORDERS, CUSTOMERS, DAYS = 100_000, 5_000, 730
STAFF = "bench-staff@example.com"

SETTINGS = '''"""django-oscar's minimal settings for bench/oscar_peer.py (written by it)."""
import os
from urllib.parse import urlsplit

from oscar import INSTALLED_APPS
from oscar.defaults import *  # noqa: F403

url = urlsplit(os.environ["OSCAR_PEER_DATABASE_URL"])
SECRET_KEY = "bench-only-insecure-key"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
SITE_ID = 1
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "oscar.apps.basket.middleware.BasketMiddleware",
    "django.contrib.flatpages.middleware.FlatpageFallbackMiddleware",
]
AUTHENTICATION_BACKENDS = [
    "oscar.apps.customer.auth_backends.EmailBackend",
    "django.contrib.auth.backends.ModelBackend",
]
ROOT_URLCONF = "oscar_peer_urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.template.context_processors.i18n",
        "django.contrib.messages.context_processors.messages",
        "oscar.apps.search.context_processors.search_form",
        "oscar.apps.checkout.context_processors.checkout",
        "oscar.apps.communication.notifications.context_processors.notifications",
        "oscar.core.context_processors.metadata",
    ]},
}]
DATABASES = {"default": {
    "ENGINE": "django.db.backends.postgresql",
    "NAME": url.path.lstrip("/"), "USER": url.username or "", "PASSWORD": url.password or "",
    "HOST": url.hostname or "", "PORT": url.port or "",
}}
HAYSTACK_CONNECTIONS = {"default": {"ENGINE": "haystack.backends.simple_backend.SimpleEngine"}}
STATIC_URL = "/static/"
MEDIA_URL = "/media/"
# Our shop's order states, so a status filter selects the same share of orders.
OSCAR_INITIAL_ORDER_STATUS = "submitted"
OSCAR_ORDER_STATUS_PIPELINE = {
    s: () for s in ("draft", "submitted", "approved", "in_production", "fulfilled", "canceled")
}
'''
URLS = """from django.apps import apps
from django.urls import include, path

urlpatterns = [path("", include(apps.get_app_config("oscar").urls[0]))]
"""


# --- the host: this checkout's Python ------------------------------------------------------------


def oscar_python() -> Path:
    """The peer's virtualenv, made (and oscar installed) on the first run."""
    venv = CACHE / "venv"
    python = venv / "bin" / "python"
    marker = venv / f"oscar-{OSCAR_VERSION}"
    if not marker.exists():
        print(f"installing django-oscar {OSCAR_VERSION} in {venv} …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"django-oscar=={OSCAR_VERSION}",
             "psycopg[binary]"],
            check=True,
        )  # fmt: skip
        marker.touch()
    (CACHE / "oscar_peer_settings.py").write_text(SETTINGS)
    (CACHE / "oscar_peer_urls.py").write_text(URLS)
    return python


def run_oscar(python: Path, *args: str) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oscar_peer_settings",
        "PYTHONPATH": str(CACHE),
        "OSCAR_PEER_DATABASE_URL": OSCAR_DB,
    }
    out = subprocess.run(
        [str(python), str(HERE), "--oscar", *args],
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


ROW = re.compile(r"^(?P<case>\S.*?)\s+(?P<p50>\d+\.\d+)\s+(?P<p95>\d+\.\d+)\s+(?P<queries>\d+)\b")


def run_ours(project: Path, runs: int, warmup: int) -> dict:
    """bench/ops_dashboard.py of `project` as it is; its table read back ({case: figures})."""
    done = subprocess.run(
        [str(project / ".venv" / "bin" / "python"), "bench/ops_dashboard.py",
         "--runs", str(runs), "--warmup", str(warmup)],
        cwd=project,
        capture_output=True,  # its log lines (sign-ins) too: shown only if it fails
        text=True,
    )  # fmt: skip
    if done.returncode:
        sys.exit(f"bench/ops_dashboard.py of {project} failed:\n{done.stderr[-3000:]}")
    out = done.stdout
    results = {}
    for line in out.splitlines():
        match = ROW.match(line)
        if match:
            results[match["case"]] = {
                "p50": float(match["p50"]),
                "p95": float(match["p95"]),
                "queries": int(match["queries"]),
            }
    if not results:
        raise RuntimeError(f"no figures in bench/ops_dashboard.py's output:\n{out}")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true", help="regenerate oscar's data")
    parser.add_argument("--ours", type=Path, default=ROOT,
                        help="the checkout whose bench/ops_dashboard.py and .venv "
                        "measure ours")  # fmt: skip
    parser.add_argument("--oscar", action="store_true", help=argparse.SUPPRESS)  # oscar's side
    parser.add_argument("--build", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.oscar:
        return oscar_side(args)

    ours_project = args.ours.resolve()
    python = oscar_python()
    built = run_oscar(python, "--build", *(["--rebuild"] if args.rebuild else []))
    print("oscar " + built["version"] + ": " + ", ".join(f"{n:,} {w}" for w, n in built["counts"]))
    print(f"ours: {ours_project} (bench/ops_dashboard.py, its data built if missing) …", flush=True)
    run_ours(ours_project, 2, 0)

    ours_runs, oscar_runs = [], []
    for round_no in range(1, args.rounds + 1):
        timed = ["--runs", str(args.runs), "--warmup", str(args.warmup)]
        for side in ("oscar", "ours") if round_no % 2 else ("ours", "oscar"):
            started = time.perf_counter()
            if side == "ours":
                ours_runs.append(run_ours(ours_project, args.runs, args.warmup))
            else:
                oscar_runs.append(run_oscar(python, *timed)["cases"])
            print(f"round {round_no}: {side} in {time.perf_counter() - started:.0f} s", flush=True)
    report(ours_runs, oscar_runs, args)
    return 0


def report(ours_runs: list[dict], oscar_runs: list[dict], args: argparse.Namespace) -> None:
    def median(runs: list[dict], case: str, key: str) -> float | None:
        values = [run[case][key] for run in runs if case in run]
        return statistics.median(values) if values else None

    print(
        f"\nmedian over {args.rounds} rounds of p50/p95 in ms ({args.runs} runs, "
        f"{args.warmup} warm-up per case and round); ratio = ours p95 / oscar p95 "
        f"(goal ≤ {GOAL}), then each round's"
    )
    print(
        f"{'case':34} {'ours p50':>8} {'p95':>6} {'q':>3}   {'oscar p50':>9} {'p95':>6} "
        f"{'q':>3}   {'ratio':>5}  rounds"
    )
    met = True
    for case, ours_case, _query in CASES:
        o50, o95 = median(ours_runs, ours_case, "p50"), median(ours_runs, ours_case, "p95")
        s50, s95 = median(oscar_runs, case, "p50"), median(oscar_runs, case, "p95")
        if o95 is None or s95 is None:
            print(f"{case:34} (ours has no case {ours_case!r})")
            met = False
            continue
        rounds = [
            ours[ours_case]["p95"] / oscar[case]["p95"]
            for ours, oscar in zip(ours_runs, oscar_runs, strict=False)
            if ours_case in ours
        ]
        met = met and o95 / s95 <= GOAL
        print(
            f"{case:34} {o50:8.1f} {o95:6.1f} {ours_runs[-1][ours_case]['queries']:3d}   "
            f"{s50:9.1f} {s95:6.1f} {oscar_runs[-1][case]['queries']:3d}   "
            f"{o95 / s95:5.2f}  " + " ".join(f"{r:.2f}" for r in rounds)
        )
    print(f"goal (every case ours ≤ {GOAL}× oscar's p95): {'met' if met else 'NOT met'}")


# --- oscar's side: runs in the peer's virtualenv (django-oscar; nothing of ours) ------------------


def oscar_side(args: argparse.Namespace) -> int:
    import django

    ensure_database()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if args.build:
        if args.rebuild or counts()[0][1] != ORDERS:
            generate()
        import oscar

        print(json.dumps({"version": oscar.get_version(), "counts": counts()}))
        return 0
    print(json.dumps({"cases": time_cases(args.runs, args.warmup)}))
    return 0


def ensure_database() -> None:
    import psycopg

    name = OSCAR_DB.rsplit("/", 1)[1]
    with psycopg.connect(OSCAR_DB.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def counts() -> list[tuple[str, int]]:
    from django.db import connection

    with connection.cursor() as cur:
        out = []
        for what, table in [
            ("orders", "order_order"),
            ("lines", "order_line"),
            ("status changes", "order_orderstatuschange"),
            ("users", "auth_user"),
        ]:
            cur.execute(f"SELECT count(*) FROM {table}")
            out.append((what, cur.fetchone()[0]))
        return out


def generate() -> None:
    """The same shape as bench/ops_dashboard.py's data, in oscar's tables (same seed, names,
    states and spread over two years)."""
    from django.db import connection

    first = _sql_array(FIRST)
    last = _sql_array(LAST)
    domains = _sql_array(DOMAINS)
    garments = _sql_array([name for name, _ in GARMENTS])
    prices = "ARRAY[" + ",".join(str(price) for _, price in GARMENTS) + "]"
    started = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE order_orderstatuschange, order_line, order_order, order_shippingaddress, "
            "auth_user, django_session CASCADE"
        )
        cur.execute(
            "INSERT INTO address_country (iso_3166_1_a2, iso_3166_1_a3, iso_3166_1_numeric, "
            "printable_name, name, display_order, is_shipping_country) "
            "VALUES ('US', 'USA', '840', 'United States', 'United States of America', 0, true) "
            "ON CONFLICT DO NOTHING"
        )
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
                   now() - make_interval(secs => ({ORDERS} - g) * ({DAYS} * 86400.0 / {ORDERS})
                                                 + random() * 300) AS created_at,
                   random() AS r_state, random() AS r_prio, random() AS r_step,
                   1 + floor(random() * {CUSTOMERS})::int AS customer_no,
                   1 + floor(random() * {len(GARMENTS)})::int AS garment_no
            FROM generate_series(1, {ORDERS}) AS g;
            ALTER TABLE bench_orders ADD COLUMN status text;
            UPDATE bench_orders SET status = CASE
                WHEN created_at < now() - interval '30 days' THEN
                    CASE WHEN r_state < 0.93 THEN 'fulfilled' ELSE 'canceled' END
                WHEN r_state < 0.10 THEN 'draft'
                WHEN r_state < 0.30 THEN 'submitted'
                WHEN r_state < 0.50 THEN 'approved'
                WHEN r_state < 0.70 THEN 'in_production'
                WHEN r_state < 0.95 THEN 'fulfilled'
                ELSE 'canceled' END;
            """
        )
        cur.execute(
            """
            CREATE TEMP TABLE bench_owners AS
            SELECT o.g, u.id AS user_id, u.first_name, u.last_name
            FROM bench_orders o
            JOIN (SELECT id, first_name, last_name, row_number() OVER (ORDER BY id) AS n
                  FROM auth_user) u ON u.n = o.customer_no;
            INSERT INTO order_shippingaddress (id, title, first_name, last_name, line1, line2,
                line3, line4, state, postcode, search_text, phone_number, notes, country_id)
            SELECT g, '', first_name, last_name, (g % 900 + 1) || ' Main Street', '', '',
                   'Springfield', 'IL', '62701', first_name || ' ' || last_name, '', '', 'US'
            FROM bench_owners;
            """
        )
        cur.execute(
            f"""
            INSERT INTO order_order (id, number, currency, total_incl_tax, total_excl_tax,
                shipping_incl_tax, shipping_excl_tax, shipping_method, shipping_code, status,
                guest_email, date_placed, site_id, user_id, shipping_address_id,
                analytics_tracked)
            SELECT o.g, 'ORD-' || lpad(o.g::text, 6, '0'), 'USD', 0, 0, 0, 0, 'Standard',
                   'standard', o.status, '', o.created_at, 1, w.user_id, o.g, true
            FROM bench_orders o JOIN bench_owners w ON w.g = o.g;
            INSERT INTO order_line (partner_name, partner_sku, partner_line_reference,
                partner_line_notes, title, upc, quantity, line_price_incl_tax,
                line_price_excl_tax, line_price_before_discounts_incl_tax,
                line_price_before_discounts_excl_tax, unit_price_incl_tax, unit_price_excl_tax,
                status, order_id, allocation_cancelled, num_allocated)
            SELECT 'Print Shop', 'SKU-' || garment_no || '-' || s, '', '',
                   ({garments})[garment_no], NULL, qty, qty * unit, qty * unit, qty * unit,
                   qty * unit, unit, unit, '', g, false, 0
            FROM (
                SELECT o.g, o.garment_no, s, 1 + floor(random() * 24)::int AS qty,
                       ({prices})[o.garment_no] / 100.0 AS unit
                FROM bench_orders o
                CROSS JOIN LATERAL generate_series(1, 1 + (o.g % 5)) AS s
            ) AS l;
            UPDATE order_order p SET total_incl_tax = t.amount, total_excl_tax = t.amount
            FROM (SELECT order_id, sum(line_price_incl_tax) AS amount FROM order_line
                  GROUP BY order_id) t
            WHERE t.order_id = p.id;
            """
        )
        # Placed, paid (unless never paid) and the latest state: ~3 status changes an order.
        cur.execute(
            """
            INSERT INTO order_orderstatuschange (order_id, old_status, new_status, date_created)
            SELECT g, '', 'draft', created_at FROM bench_orders
            UNION ALL
            SELECT g, 'draft', 'submitted', created_at + interval '2 hours' FROM bench_orders
            WHERE status <> 'draft' AND NOT (status = 'canceled' AND r_step < 0.5)
            UNION ALL
            SELECT g, 'submitted', status, created_at + interval '2 days' FROM bench_orders
            WHERE status NOT IN ('draft', 'submitted');
            """
        )
        for table in ("order_order", "order_shippingaddress"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user(
        username=STAFF, email=STAFF, password="bench-unused", is_staff=True, is_superuser=True
    )
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    print(f"oscar data generated in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def time_cases(runs: int, warmup: int) -> dict:
    from urllib.parse import urlencode

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from oscar.core.loading import get_model

    Order = get_model("order", "Order")
    customer = Order.objects.select_related("user").order_by("number")[5000].user
    searches = {
        "customer name": urlencode({"name": f"{customer.first_name} {customer.last_name}"}),
        "surname only": urlencode({"name": customer.last_name}),
    }
    client = Client()
    client.force_login(get_user_model().objects.get(username=STAFF))
    results = {}
    for case, _ours, query in CASES:
        url = "/dashboard/orders/?" + (searches[case] if query is None else query)
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
        assert response.status_code == 200, (url, response.status_code)
        results[case] = {
            "p50": statistics.median(timings),
            "p95": statistics.quantiles(timings, n=20, method="inclusive")[18],
            "queries": len(queries),
            "rows": len(set(re.findall(rb"/dashboard/orders/(ORD-[0-9]+)/", response.content))),
        }
    return results


def _sql_array(values: list[str]) -> str:
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


# bench/ops_dashboard.py's names and garments (copied: that script sets up Django on import).
GARMENTS = [
    ("Classic Cotton Tee", 1800), ("Heavyweight Hoodie", 4200), ("Organic Tote Bag", 1200),
    ("Long Sleeve Tee", 2400), ("Crewneck Sweatshirt", 3600), ("Zip Hoodie", 4800),
    ("Baseball Cap", 2200), ("Canvas Apron", 2600), ("Kids Tee", 1500), ("Tank Top", 1700),
    ("Polo Shirt", 2900), ("Beanie", 1900),
]  # fmt: skip
FIRST = [
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Chris", "Nancy", "Daniel", "Lisa", "Matthew", "Betty", "Anthony",
    "Sandra", "Mark", "Ashley", "Donald", "Kimberly", "Steven", "Emily", "Paul", "Donna",
    "Andrew", "Michelle",
]  # fmt: skip
LAST = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Okafor", "Kowalski",
]  # fmt: skip
DOMAINS = ["example.com", "mail.example.org", "shop.example.net", "studio.example.io"]


if __name__ == "__main__":
    sys.exit(main())
