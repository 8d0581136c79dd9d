"""Behind PgBouncer in transaction pooling mode (DATABASE_POOLER=transaction): nothing of the app
outlives a transaction on a server connection, `check --deploy` names the connection options
that would, and a database out of reach answers 503 with Retry-After, not 500."""

import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.db import OperationalError
from django.test import Client

from production.checks import pooler_problems
from production.plumbing.db_retry import database_unavailable

BASE_DIR = Path(__file__).resolve().parents[2]
POSTGRES = "postgres://shop@db.example.com:6432/printshop"


def settings_of(*names: str, **env: str) -> subprocess.CompletedProcess:
    """Settings as a fresh process computes them from this environment (nothing connects)."""
    code = "import django; django.setup(); from django.conf import settings; " + "; ".join(
        f"print(repr({name}))" for name in names
    )
    clean = {"PATH": "/usr/bin:/bin", "SECRET_KEY": "x"}
    clean["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, **env},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
    )


def test_transaction_pooling_turns_off_server_side_cursors_and_prepared_statements():
    done = settings_of(
        "settings.DATABASES['default'].get('DISABLE_SERVER_SIDE_CURSORS')",
        "settings.DATABASES['default']['OPTIONS'].get('prepare_threshold', 'unset')",
        DATABASE_URL=f"{POSTGRES}?prepare_threshold=5",
        DATABASE_POOLER="transaction",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "None"]


def test_daphnes_pool_behind_the_pooler_keeps_the_same_guarantees():
    done = settings_of(
        "settings.DATABASES['default'].get('DISABLE_SERVER_SIDE_CURSORS')",
        "settings.DATABASES['default']['OPTIONS']['prepare_threshold']",
        "settings.DATABASES['default']['OPTIONS']['pool']['max_size']",
        DATABASE_URL=POSTGRES,
        DATABASE_POOLER="transaction",
        DATABASE_POOL="true",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "None", "20"]


def test_a_direct_connection_keeps_server_side_cursors():
    done = settings_of(
        "settings.DATABASES['default'].get('DISABLE_SERVER_SIDE_CURSORS', False)",
        DATABASE_URL=POSTGRES,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False"]


def test_an_unknown_pooler_mode_is_refused_with_the_values_it_takes():
    done = settings_of("1", DATABASE_URL=POSTGRES, DATABASE_POOLER="pgbouncer")
    assert done.returncode != 0
    assert "DATABASE_POOLER='pgbouncer'" in done.stderr
    assert "'transaction'" in done.stderr


def test_check_names_connection_options_that_need_a_session_of_their_own():
    options = {"options": "-c statement_timeout=5000", "assume_role": "shop_owner"}
    warnings = pooler_problems("transaction", options)
    assert [w.id for w in warnings] == ["production.W002", "production.W002"]
    assert "'options'" in warnings[0].msg and "'assume_role'" in warnings[1].msg
    assert "ALTER ROLE" in warnings[0].hint
    assert pooler_problems("", options) == []  # a direct connection keeps its session
    assert pooler_problems("transaction", {"sslmode": "require"}) == []


# What transaction pooling breaks, as the app's code would spell it: session locks, LISTEN/NOTIFY,
# cursors that outlive a transaction, prepared statements, temporary tables, session-wide SETs
# (SQL keywords in capitals, as the code writes them).
SESSION_STATE = re.compile(
    r"pg_(try_)?advisory_lock(_shared)?\(|\bLISTEN\s|\bNOTIFY\s|\bUNLISTEN\b|WITH\s+HOLD"
    r"|DECLARE\s+\w+\s+(NO\s+SCROLL\s+)?CURSOR|CREATE\s+TEMP|\bPREPARE\s+\w|prepare=True"
    r"|chunked_cursor\(|ServerCursor|cursor\(name="
    r"|[\"']\s*SET\s+(?!LOCAL\b|CONSTRAINTS\b|TRANSACTION\b)(SESSION\s+)?[A-Za-z_]+"
)
APPS = ("artwork", "config", "ops", "payments", "production", "shopify")


def test_the_apps_keep_no_session_state_on_a_pooled_server_connection():
    """Server-side cursors come only from `.iterator()`, which DATABASE_POOLER turns into client
    ones; nothing else may hold state between transactions (migrations run once, in their own
    transactions, and are left out)."""
    found = []
    for app in APPS:
        for path in sorted((BASE_DIR / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                code = line.split("#")[0]  # not the comments that explain it
                if SESSION_STATE.search(code) and "notifyCustomer" not in code:
                    found.append(f"{path.relative_to(BASE_DIR)}:{number}: {line.strip()}")
    assert found == []


def test_the_scan_would_see_session_state():
    for line in (
        'cursor.execute("SELECT pg_advisory_lock(42)")',
        'cursor.execute("SET statement_timeout = 0")',
        'cursor.execute("LISTEN orders")',
        "connection.cursor(name='export')",
    ):
        assert SESSION_STATE.search(line), line
    for line in (
        'cursor.execute("SET LOCAL statement_timeout = 0")',
        'cursor.execute("SELECT pg_advisory_xact_lock(42)")',
        'READS = ("SELECT", "SAVEPOINT", "RELEASE", "SHOW", "SET ")',
    ):
        assert not SESSION_STATE.search(line), line


def lost_connection() -> OperationalError:
    """A Django error as psycopg's for a connection PostgreSQL or PgBouncer cut or refused."""
    error = OperationalError("connection failed: Connection refused")
    error.__cause__ = psycopg.OperationalError("connection failed: Connection refused")
    return error


@pytest.mark.django_db(transaction=True)  # as served: no test transaction around the request
def test_an_api_request_the_database_could_not_serve_answers_503_to_send_again(
    monkeypatch, customer, garment
):
    from production.api import views

    def unreachable(*args, **kwargs):
        raise lost_connection()

    monkeypatch.setattr(views.OrderCollectionView, "get", unreachable)
    client = Client(raise_request_exception=False)
    client.force_login(customer)
    response = client.get("/api/production")
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response.json() == {"error": "Service unavailable"}


@pytest.mark.django_db(transaction=True)
def test_a_page_the_database_could_not_serve_asks_to_try_again(monkeypatch, customer):
    from django.contrib.auth.views import LoginView

    def unreachable(*args, **kwargs):
        raise lost_connection()

    monkeypatch.setattr(LoginView, "get", unreachable)
    response = Client(raise_request_exception=False).get("/accounts/login/")
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert "try again" in response.content.decode()


def test_other_errors_are_no_reason_to_send_again(rf):
    request = rf.get("/api/production")
    assert not database_unavailable(request, OperationalError("deadlock detected"))
    assert not database_unavailable(request, ValueError("bad"))
    assert database_unavailable(request, lost_connection())


def test_a_request_that_committed_answers_503_only_when_it_may_run_again(rf):
    """A view that committed before the database went away is sent again only if its writes are
    idempotent (the webhook by event id, creation by Idempotency-Key); others stay a 500."""
    request = rf.post("/api/production")
    request.db_commits_at_start = -1  # one commit made since the view started
    assert not database_unavailable(request, lost_connection())
    request.db_rerun_safe = True
    assert database_unavailable(request, lost_connection())


def _open_cursors_while_exporting(monkeypatch, *, pooler: bool) -> tuple[int, int]:
    """Server-side cursors open on the connection while the CSV export (`.iterator()`) is
    part-way through, and the rows it wrote in the end."""
    from django.db import connection

    from ops.exports import csv_lines
    from production.models import ProductionOrder
    from tests.factories import make_order

    for _ in range(3):
        make_order()
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", pooler)
    lines = csv_lines(ProductionOrder.objects.order_by("created_at"))
    written = [next(lines), next(lines)]  # the header, then the first order
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors")
        (open_cursors,) = cursor.fetchone()
    written += list(lines)
    return open_cursors, len(written) - 1


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_csv_export_holds_no_server_side_cursor_behind_the_pooler(monkeypatch):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("server-side cursors are PostgreSQL's")
    assert _open_cursors_while_exporting(monkeypatch, pooler=True) == (0, 3)


@pytest.mark.postgres
@pytest.mark.django_db
def test_without_the_pooler_the_export_streams_from_a_server_side_cursor(monkeypatch):
    """The check above can see a cursor: a direct connection keeps Django's streaming one."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("server-side cursors are PostgreSQL's")
    assert _open_cursors_while_exporting(monkeypatch, pooler=False) == (1, 3)
