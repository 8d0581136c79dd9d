"""A refund locks its order's row before it reads what is left to refund, on every database.

Two requests for one order's money must take turns, or both could take the last of it
(test_refund_concurrency.py shows the turns on PostgreSQL). On SQLite a missing lock changes
nothing a test could see: writers take turns anyway (`BEGIN IMMEDIATE`), and `select_for_update`
adds nothing to the SQL. So the lock is checked where the code asks for it: Django's public
`QuerySet.select_for_update`, recorded in the same sequence as the statements the connection runs
(`connection.execute_wrapper`).
"""

import pytest
from django.db import connection
from django.db.models import QuerySet

from payments.models import Refund
from payments.refunds import request_refund
from production.lifecycle import EventSource, OrderState
from production.services.orders import update_order
from tests.factories import operator_user
from tests.payments.refund_support import paid_order

pytestmark = pytest.mark.django_db

ORDER = "production.ProductionOrder"
MONEY_TABLES = ("payments_payment", "payments_refund")


class Trace:
    """Row locks asked for, by model, and SQL statements run, in the order they happened."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.steps: list[tuple[str, str]] = []
        select_for_update = QuerySet.select_for_update

        def recording(queryset: QuerySet, *args, **kwargs) -> QuerySet:
            self.steps.append(("lock", queryset.model._meta.label))
            return select_for_update(queryset, *args, **kwargs)

        monkeypatch.setattr(QuerySet, "select_for_update", recording)

    def __call__(self, execute, sql, params, many, context):  # a connection.execute_wrapper
        self.steps.append(("sql", sql))
        return execute(sql, params, many, context)

    def check_order_locked_before_the_money_is_read(self) -> None:
        first_money_read = next(
            i
            for i, (kind, what) in enumerate(self.steps)
            if kind == "sql" and any(table in what for table in MONEY_TABLES)
        )
        assert ("lock", ORDER) in self.steps[:first_money_read], self.steps
        lock = self.steps.index(("lock", ORDER))
        # The locked read is the next statement, and it reads the order.
        locked_read = next(what for kind, what in self.steps[lock:] if kind == "sql")
        assert '"production_productionorder"' in locked_read
        if connection.vendor == "postgresql":
            assert "FOR UPDATE" in locked_read


@pytest.fixture
def order(settings):
    settings.SITE_URL = "http://shop.test"
    return paid_order(state=OrderState.APPROVED)  # $90.00 paid


def test_an_operators_refund_locks_the_order_before_it_reads_what_is_left(order, monkeypatch):
    operator = operator_user()
    trace = Trace(monkeypatch)
    with connection.execute_wrapper(trace):
        request_refund(order=order.pk, amount=6000, actor=operator)
    trace.check_order_locked_before_the_money_is_read()
    assert list(Refund.objects.filter(order=order).values_list("amount", flat=True)) == [6000]


def test_a_cancels_refund_locks_the_order_before_it_reads_what_is_left(order, monkeypatch):
    operator = operator_user()
    request_refund(order=order.pk, amount=4000, actor=operator)
    trace = Trace(monkeypatch)
    with connection.execute_wrapper(trace):
        update_order(order=order.pk, actor=operator, source=EventSource.OPERATOR, status="canceled")
    trace.check_order_locked_before_the_money_is_read()
    amounts = sorted(Refund.objects.filter(order=order).values_list("amount", flat=True))
    assert amounts == [4000, 5000]  # the rest of what was paid, once
