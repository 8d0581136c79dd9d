"""A request whose database connection is cut mid-view runs again on a new connection."""

import psycopg
import pytest
from django.db import OperationalError

from production.plumbing.db_retry import connection_lost
from tests.factories import make_order

# Outside any transaction, as a request runs (inside one, its owner decides: no retry).
pytestmark = pytest.mark.django_db(transaction=True)


def lost(sqlstate: str | None = None) -> OperationalError:
    """The error Django raises when psycopg finds the connection gone (as Django chains it)."""
    cause = psycopg.OperationalError("server closed the connection unexpectedly")
    if sqlstate:
        cause = psycopg.errors.lookup(sqlstate)("terminating connection")
    error = OperationalError(str(cause))
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (lost(), True),  # the socket closed under the client
        (lost("57P01"), True),  # pg_terminate_backend, a shutdown
        (lost("08006"), True),  # connection failure
        (lost("40P01"), False),  # a deadlock: the connection is fine
        (lost("55P03"), False),  # lock not available
        (OperationalError("database is locked"), False),  # SQLite
        (ValueError("not a database error"), False),
    ],
)
def test_only_a_lost_connection_counts(error, expected):
    assert connection_lost(error) is expected


def test_a_patch_cut_off_once_is_applied_once(monkeypatch, operator_api, customer):
    from production.services.orders import update_order

    order = make_order(owner=customer, state="approved")
    real = update_order
    calls = []

    def cut_once(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise lost("57P01")
        return real(**kwargs)

    monkeypatch.setattr("production.api.views.update_order", cut_once)
    response = operator_api.patch(
        f"/api/production/{order.pk}", {"status": "in_production"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["order"]["orderStatus"] == "in_production"
    assert len(calls) == 2
    assert order.events.filter(metadata__to="in_production").count() == 1


def test_a_connection_lost_on_every_try_answers_503_to_send_again(
    monkeypatch, operator_api, customer
):
    """The database out of reach (a PgBouncer or PostgreSQL restarting) and nothing committed:
    503 with Retry-After, so the client sends it again, not an internal error."""

    order = make_order(owner=customer, state="approved")

    def always_cut(**kwargs):
        raise lost()

    monkeypatch.setattr("production.api.views.update_order", always_cut)
    operator_api.raise_request_exception = False  # answered as a server answers it
    response = operator_api.patch(
        f"/api/production/{order.pk}", {"status": "in_production"}, format="json"
    )

    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response.json() == {"error": "Service unavailable"}
    assert order.events.filter(metadata__to="in_production").count() == 0


def test_a_deadlock_is_not_retried(monkeypatch, operator_api, customer):

    order = make_order(owner=customer, state="approved")
    calls = []

    def deadlocked(**kwargs):
        calls.append(kwargs)
        raise lost("40P01")

    monkeypatch.setattr("production.api.views.update_order", deadlocked)
    response = operator_api.patch(
        f"/api/production/{order.pk}", {"status": "in_production"}, format="json"
    )

    assert response.status_code == 500
    assert len(calls) == 1
