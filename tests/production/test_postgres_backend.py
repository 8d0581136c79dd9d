"""The PostgreSQL backend under a cut connection: a COMMIT whose answer was lost counts as made
when the server made it, a read cut after a commit is read again, and a view that committed
before its connection was cut is not run again (which would repeat what it committed)."""

import logging
import time
from urllib.parse import urlencode

import psycopg
import pytest
from django.db import OperationalError, connection, transaction

from production.models import OrderNote, ProductionOrder
from production.plumbing.db_retry import lost_connection_error
from production.services.orders import create_draft_order, update_order
from tests.factories import GarmentFactory, make_order

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL backend's"),
]

REAL_COMMIT = psycopg.Connection.commit


def cut_commits(
    monkeypatch, *, commit_first: bool, times: int = 1, pgbouncer: bool = False
) -> list[int]:
    """The next `times` COMMITs lose their connection: after the server committed
    (`commit_first`) or before it did. Returns the list of cuts made. `pgbouncer`: as a client
    of PgBouncer sees it, the server's FATAL and PgBouncer's own error, two results for one
    COMMIT, on a connection psycopg finds broken."""
    cuts: list[int] = []

    def commit(raw: psycopg.Connection) -> None:
        if len(cuts) >= times:
            return REAL_COMMIT(raw)
        cuts.append(raw.info.backend_pid)
        if commit_first:
            REAL_COMMIT(raw)
        if pgbouncer:
            raw.pgconn.finish()  # the socket is gone, not closed by its owner: `broken`
            raise psycopg.InternalError("received 2 results from command 'COMMIT'")
        raw.close()  # the server ends the session; a transaction not committed is rolled back
        raise psycopg.errors.AdminShutdown("terminating connection due to administrator command")

    monkeypatch.setattr(psycopg.Connection, "commit", commit)
    return cuts


def terminate_this_connection() -> None:
    """`pg_terminate_backend` of the test's own connection, from another one, and wait until the
    server process is gone."""
    pid = connection.connection.info.backend_pid
    params = connection.settings_dict
    with psycopg.connect(
        dbname=params["NAME"],
        user=params["USER"],
        host=params["HOST"],
        port=params["PORT"] or 5432,
        password=params["PASSWORD"] or None,
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
            time.sleep(0.01)


def add_note(order: ProductionOrder, body: str, ran: list[str]) -> None:
    with transaction.atomic():
        OrderNote.objects.create(order=order, body=body)
        transaction.on_commit(lambda: ran.append(body))


def test_a_commit_whose_answer_was_lost_counts_as_made(monkeypatch, caplog):
    order = make_order()
    ran: list[str] = []
    before = connection.committed_writes
    cut_commits(monkeypatch, commit_first=True)

    add_note(order, "kept", ran)  # no error: the server says it committed

    assert list(order.notes_log.values_list("body", flat=True)) == ["kept"]
    assert ran == ["kept"]  # its on-commit hooks ran, as after any commit
    assert connection.committed_writes == before + 1
    assert "the commit was made" in caplog.text
    add_note(order, "next", ran)  # and the connection it goes on with works
    assert order.notes_log.count() == 2


def test_behind_pgbouncer_a_cut_commit_the_server_made_counts_as_made(monkeypatch):
    order = make_order()
    ran: list[str] = []
    before = connection.committed_writes
    cut_commits(monkeypatch, commit_first=True, pgbouncer=True)

    add_note(order, "kept", ran)  # no error: the server says it committed

    assert list(order.notes_log.values_list("body", flat=True)) == ["kept"]
    assert ran == ["kept"]
    assert connection.committed_writes == before + 1


def test_behind_pgbouncer_a_cut_commit_not_made_is_a_lost_connection(monkeypatch):
    """So the request runs again (or answers 503), rather than failing as an internal error."""
    order = make_order()
    ran: list[str] = []
    cut_commits(monkeypatch, commit_first=False, pgbouncer=True)

    with pytest.raises(OperationalError) as raised:
        add_note(order, "lost", ran)

    assert lost_connection_error(raised.value)
    assert order.notes_log.count() == 0
    assert ran == []


def test_with_the_pool_a_lost_commit_answer_is_checked_too(monkeypatch):
    """daphne's setting (DATABASE_POOL): the cut connection goes back to the pool, which drops
    it, and the wrapper goes on with another."""
    from production.plumbing.postgres.base import DatabaseWrapper

    pool = {"min_size": 1, "max_size": 2, "timeout": 5}
    pooled = DatabaseWrapper({**connection.settings_dict, "OPTIONS": {"pool": pool}}, "pooled")
    order = make_order()
    cut_commits(monkeypatch, commit_first=True)
    try:
        pooled.set_autocommit(False)
        with pooled.cursor() as cursor:
            cursor.execute(
                "INSERT INTO production_ordernote (order_id, body, created_at) "
                "VALUES (%s, %s, now())",
                [order.pk, "pooled"],
            )
        pooled.commit()  # no error: made
        pooled.set_autocommit(True)
        assert pooled.committed_writes == 1
        with pooled.cursor() as cursor:
            cursor.execute("SELECT 1")  # the connection it goes on with works
    finally:
        pooled.close()
        pooled.close_pool()
    assert list(order.notes_log.values_list("body", flat=True)) == ["pooled"]


def test_a_commit_cut_before_the_server_made_it_fails_as_before(monkeypatch):
    order = make_order()
    ran: list[str] = []
    before = connection.committed_writes
    cut_commits(monkeypatch, commit_first=False)

    with pytest.raises(OperationalError) as raised:
        add_note(order, "lost", ran)

    assert raised.value.__cause__.sqlstate == "57P01"
    assert order.notes_log.count() == 0
    assert ran == []
    assert connection.committed_writes == before


def test_a_commit_whose_outcome_cannot_be_asked_counts_as_perhaps_made(monkeypatch):
    order = make_order()
    before = connection.committed_writes
    cut_commits(monkeypatch, commit_first=True)

    def unreachable(*args, **kwargs):
        raise psycopg.OperationalError("connection refused")

    monkeypatch.setattr(connection, "get_new_connection", unreachable)
    with pytest.raises(OperationalError):
        add_note(order, "made, but who knows", [])

    assert connection.committed_writes == before + 1  # so the view is not run again
    monkeypatch.undo()
    assert order.notes_log.count() == 1


def test_only_a_transaction_that_wrote_asks_its_id_before_committing(monkeypatch):
    order = make_order()
    asked = []
    real = psycopg.Connection.execute

    def execute(raw, query, *args, **kwargs):
        if "pg_current_xact_id" in str(query):
            asked.append(query)
        return real(raw, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "execute", execute)
    with transaction.atomic():
        ProductionOrder.objects.select_for_update().get(pk=order.pk)
    assert asked == []  # a read-only transaction costs no extra round trip
    add_note(order, "a write", [])
    assert len(asked) == 1


def test_a_read_cut_outside_a_transaction_is_read_again(caplog):
    order = make_order()
    ProductionOrder.objects.count()  # the connection is open
    terminate_this_connection()

    with caplog.at_level(logging.WARNING, logger="production.plumbing.db_retry"):
        assert ProductionOrder.objects.get(pk=order.pk).reference == order.reference

    assert "read again" in caplog.text


def test_a_write_cut_outside_a_transaction_is_not_sent_again():
    order = make_order()
    ProductionOrder.objects.count()
    before = connection.committed_writes
    terminate_this_connection()

    with pytest.raises(OperationalError):
        ProductionOrder.objects.filter(pk=order.pk).update(notes="changed")

    assert connection.committed_writes == before + 1  # it may have been made


# --- through the API, as a script sees it -------------------------------------------------------


def test_a_patch_whose_commit_answer_was_lost_answers_once(monkeypatch, operator_api, customer):
    order = make_order(owner=customer, state="approved")
    cuts = cut_commits(monkeypatch, commit_first=True)

    response = operator_api.patch(
        f"/api/production/{order.pk}",
        {"status": "in_production", "notes": "press 2"},
        format="json",
    )

    assert len(cuts) == 1
    assert response.status_code == 200
    assert response.json()["order"]["orderStatus"] == "in_production"
    assert order.events.filter(metadata__to="in_production").count() == 1
    assert order.events.filter(message="press 2").count() == 1
    assert order.notes_log.count() == 0  # a re-run would have kept "press 2" as a note


def test_a_patch_cut_after_its_commit_answers_without_repeating_it(
    monkeypatch, operator_api, customer
):
    order = make_order(owner=customer, state="approved")
    real = update_order
    calls = []

    def then_cut(**kwargs):
        calls.append(kwargs)
        result = real(**kwargs)
        terminate_this_connection()  # committed; the answer's read finds the connection gone
        return result

    monkeypatch.setattr("production.api.views.update_order", then_cut)
    response = operator_api.patch(
        f"/api/production/{order.pk}", {"notes": "check the hem"}, format="json"
    )

    assert response.status_code == 200
    assert len(calls) == 1
    assert list(order.notes_log.values_list("body", flat=True)) == ["check the hem"]


def test_a_view_cut_after_it_committed_is_not_run_again(monkeypatch, operator_api, customer):
    order = make_order(owner=customer, state="approved")
    real = update_order
    calls = []

    def commit_then_lose(**kwargs):
        calls.append(kwargs)
        real(**kwargs)
        with transaction.atomic():  # a second transaction, cut off
            terminate_this_connection()
            ProductionOrder.objects.select_for_update().get(pk=order.pk)

    monkeypatch.setattr("production.api.views.update_order", commit_then_lose)
    operator_api.raise_request_exception = False
    response = operator_api.patch(f"/api/production/{order.pk}", {"notes": "once"}, format="json")

    assert response.status_code == 500
    assert response.json() == {"error": "Internal error"}
    assert len(calls) == 1
    assert order.notes_log.count() == 1  # stored once; the operator reloads and sees it


def test_a_bulk_change_cut_after_its_first_order_runs_again(monkeypatch, operator):
    from django.test import Client

    from production.lifecycle import OrderState

    first, second = make_order(state=OrderState.SUBMITTED), make_order(state=OrderState.SUBMITTED)
    real = update_order
    calls = []

    def cut_after_first(**kwargs):
        calls.append(kwargs)
        order = real(**kwargs)
        if len(calls) == 1:  # the first order committed; the second order's transaction is cut
            terminate_this_connection()
        return order

    monkeypatch.setattr("production.api.views.update_order", cut_after_first)
    client = Client()
    client.force_login(operator)
    form = {"change": "status:approved", "scope": "selected", "ids": [first.pk, second.pk]}
    # As a browser sends the form (the test client's default, multipart, is never re-run).
    body = urlencode(form, doseq=True)
    response = client.post("/ops/orders/bulk", body, "application/x-www-form-urlencoded")

    assert response.status_code == 302  # run again: the first left alone, the second changed
    for order in (first, second):
        order.refresh_from_db()
        assert order.status == OrderState.APPROVED
        assert order.events.filter(metadata__to="approved").count() == 1


def test_a_creation_cut_after_its_draft_runs_again_on_its_idempotency_key(
    monkeypatch, customer_api
):
    garment = GarmentFactory()
    real = create_draft_order
    calls = []

    def draft_then_lose(**kwargs):
        calls.append(kwargs)
        order = real(**kwargs)
        if len(calls) == 1:
            terminate_this_connection()
            with transaction.atomic():
                ProductionOrder.objects.select_for_update().get(pk=order.pk)
        return order

    monkeypatch.setattr("production.services.orders.create_draft_order", draft_then_lose)
    body = {
        "designUrl": "https://ucarecdn.com/xxx/design.png",
        "garmentId": garment.shopify_gid,
        "sizes": [{"size": "M", "quantity": 2}],
    }
    response = customer_api.post(
        "/api/production", body, format="json", HTTP_IDEMPOTENCY_KEY="cut-1"
    )

    assert response.status_code == 201
    assert len(calls) == 2
    assert ProductionOrder.objects.count() == 1
    assert response.json()["orderId"] == str(ProductionOrder.objects.get().pk)


def test_what_counts_as_a_read():
    from production.plumbing.postgres.base import _reads

    assert _reads('SELECT "x" FROM "t"')
    assert _reads("  (SELECT 1) UNION ALL (SELECT 2)")  # the board's
    assert _reads("SAVEPOINT s1")
    assert not _reads('INSERT INTO "t" VALUES (1)')
    assert not _reads('UPDATE "t" SET "x" = 1')
    assert not _reads("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d")
