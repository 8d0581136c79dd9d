"""Stripe delivering one event several times at once: the unique event id lets exactly one act."""

import json

import pytest
from django.db import connection

from payments.models import ProcessedEvent
from payments.services import receive_webhook, start_checkout
from production.lifecycle import OrderState
from production.models import FulfillmentEvent, ProductionOrder
from tests.concurrency import run_at_once
from tests.factories import make_order
from tests.payments.stripe_events import checkout_session, sign, stripe_event

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def deliver_at_once(payloads: list[bytes]) -> list[str]:
    def deliver(payload: bytes):
        return lambda: receive_webhook(payload=payload, signature=sign(payload.decode())).outcome

    outcomes, errors = run_at_once([deliver(p) for p in payloads])
    assert errors == []
    return outcomes


@pytest.fixture
def order(settings):
    settings.SITE_URL = "http://shop.test"
    draft = make_order()
    start_checkout(order=draft)
    return ProductionOrder.objects.get(pk=draft.pk)


def test_simultaneous_duplicates_submit_the_order_once(order):
    payload = json.dumps(
        stripe_event("checkout.session.completed", checkout_session(order), "evt_1")
    )

    outcomes = deliver_at_once([payload.encode()] * 6)

    assert sorted(outcomes) == ["duplicate"] * 5 + ["submitted"]
    order.refresh_from_db()
    assert order.status == OrderState.SUBMITTED
    assert FulfillmentEvent.objects.filter(order=order, status="Queued").count() == 1
    assert ProcessedEvent.objects.count() == 1


def test_simultaneous_completed_and_expired_never_cancel_a_paid_order(order):
    paid = stripe_event("checkout.session.completed", checkout_session(order), "evt_paid")
    expired = stripe_event(
        "checkout.session.expired",
        checkout_session(order, status="expired", payment_status="unpaid"),
        "evt_expired",
    )

    outcomes = deliver_at_once([json.dumps(paid).encode(), json.dumps(expired).encode()])

    order.refresh_from_db()
    # Whichever wins the row lock, the other sees its result: paid, or canceled and flagged.
    assert sorted(outcomes) in (["submitted", "unchanged"], ["canceled", "refund_requested"])
    assert ProcessedEvent.objects.count() == 2
    if order.status == OrderState.SUBMITTED:
        assert not FulfillmentEvent.objects.filter(order=order, status="Canceled").exists()
