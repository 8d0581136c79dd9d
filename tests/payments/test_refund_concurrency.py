"""Two operators refunding one order at the same instant: the order's row lock lets the paid
total be refunded once, never more (PostgreSQL: SQLite has no row locks)."""

import pytest
from django.db import connection

from payments.models import Refund
from payments.refunds import RefundRefused, request_refund
from production.lifecycle import EventSource, OrderState
from production.services.orders import update_order
from tests.concurrency import run_at_once
from tests.factories import operator_user
from tests.payments.refund_support import paid_order, refunds_of

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


@pytest.fixture
def order(settings):
    settings.SITE_URL = "http://shop.test"
    return paid_order(state=OrderState.APPROVED)  # $90.00 paid


def test_two_partial_refunds_at_once_never_exceed_what_was_paid(order):
    operators = [operator_user(), operator_user()]

    results, errors = run_at_once(
        [
            lambda who=who: request_refund(order=order.pk, amount=6000, actor=who)
            for who in operators
        ]
    )

    assert len(results) == 1
    [refused] = errors
    assert isinstance(refused, RefundRefused)
    assert "at most $30.00 can still be refunded" in refused.message
    assert refunds_of(order) == [(6000, "pending", "operator")]


def test_a_partial_refund_racing_the_cancel_leaves_the_total_refunded_once(order):
    operator = operator_user()

    results, errors = run_at_once(
        [
            lambda: request_refund(order=order.pk, amount=4000, actor=operator),
            lambda: update_order(
                order=order.pk,
                actor=operator,
                source=EventSource.OPERATOR,
                status=OrderState.CANCELED,
            ),
        ]
    )

    # Partial first: the cancel refunds the other 50.00. Cancel first: nothing is left for the
    # partial refund, which is refused. Either way 90.00 goes back, once.
    assert [type(e) for e in errors] in ([], [RefundRefused])
    assert len(results) == 2 - len(errors)
    amounts = sorted(Refund.objects.filter(order=order).values_list("amount", flat=True))
    assert amounts in ([4000, 5000], [9000])
