"""The Stripe webhook: signed Stripe-shaped deliveries, and the exact rows each one leaves."""

import json
import logging
import time

import pytest
from django.db import DatabaseError
from django.test import Client

from payments import services as payment_services
from payments.models import ProcessedEvent, Refund
from payments.services import start_checkout
from production.lifecycle import OrderState, Priority
from production.models import FulfillmentEvent, LineItem, ProductionOrder
from tests.factories import make_order
from tests.payments.stripe_events import (
    WEBHOOK_URL,
    checkout_session,
    deliver,
    example_event,
    sign,
    stripe_event,
)

pytestmark = pytest.mark.django_db

COMPLETED = "checkout.session.completed"
EXPIRED = "checkout.session.expired"
ASYNC_OK = "checkout.session.async_payment_succeeded"
ASYNC_FAILED = "checkout.session.async_payment_failed"

CREATED = ("Spec Review", "Order created, awaiting payment", "customer")
QUEUED = ("Queued", "Payment confirmed, order queued", "stripe")


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "http://shop.test"


@pytest.fixture
def client():
    # Stripe sends no CSRF token: the webhook must not need one.
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def order(customer, garment):
    """A draft of 2 M + 3 L at 18.00 ($90.00) whose checkout has started."""
    draft = make_order(owner=customer, garment=garment)
    start_checkout(order=draft)
    return ProductionOrder.objects.get(pk=draft.pk)


def order_row(order):
    order = ProductionOrder.objects.get(pk=order.pk)
    return order.status, order.production_status


def timeline(order):
    return [(e.status, e.message, e.source) for e in FulfillmentEvent.objects.filter(order=order)]


def event_log():
    return list(
        ProcessedEvent.objects.order_by("id").values_list(
            "event_id", "event_type", "outcome", "order_id"
        )
    )


def snapshot():
    return (
        list(ProductionOrder.objects.order_by("pk").values()),
        list(LineItem.objects.order_by("pk").values()),
        list(FulfillmentEvent.objects.order_by("pk").values()),
        list(ProcessedEvent.objects.order_by("pk").values()),
    )


def send(client, order, event_type=COMPLETED, event_id="evt_1", **session_overrides):
    session = checkout_session(order, **session_overrides)
    return deliver(client, stripe_event(event_type, session, event_id))


class TestSignature:
    def test_valid_completed_event_submits_and_queues_the_order(self, client, order):
        response = send(client, order)

        assert response.status_code == 200
        assert response.json() == {"received": True, "outcome": "submitted"}
        assert order_row(order) == (OrderState.SUBMITTED, "Queued")
        assert timeline(order) == [CREATED, QUEUED]
        assert event_log() == [("evt_1", COMPLETED, "submitted", order.pk)]
        assert [(li.size, li.quantity) for li in LineItem.objects.filter(order=order)] == [
            ("M", 2),
            ("L", 3),
        ]
        queued = FulfillmentEvent.objects.filter(order=order).last()
        assert queued.metadata["stripeEventId"] == "evt_1"
        assert queued.metadata["checkoutSessionId"] == order.stripe_checkout_session_id
        paid = ProductionOrder.objects.get(pk=order.pk)
        assert paid.submitted_at is not None and paid.due_date is not None

    def test_tampered_body_is_refused_and_writes_nothing(self, client, order):
        before = snapshot()
        payload = json.dumps(stripe_event(COMPLETED, checkout_session(order), "evt_1"))
        header = sign(payload)
        tampered = payload.replace(f'"amount_total": {order.total_amount}', '"amount_total": 1')
        assert tampered != payload

        response = client.post(
            WEBHOOK_URL, tampered, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
        )

        assert response.status_code == 400
        assert response.json() == {"error": "Invalid signature"}
        assert snapshot() == before

    def test_wrong_secret_is_refused_and_writes_nothing(self, client, order):
        before = snapshot()
        event = stripe_event(COMPLETED, checkout_session(order), "evt_1")

        response = deliver(client, event, secret="whsec_somebody_else")

        assert response.status_code == 400
        assert snapshot() == before

    @pytest.mark.parametrize("header", [None, "", "garbage", "t=abc,v1=00", "t=123"])
    def test_missing_or_malformed_signature_is_refused(self, client, order, header):
        before = snapshot()
        payload = json.dumps(stripe_event(COMPLETED, checkout_session(order), "evt_1"))
        headers = {} if header is None else {"Stripe-Signature": header}

        response = client.post(
            WEBHOOK_URL, payload, content_type="application/json", headers=headers
        )

        assert response.status_code == 400
        assert snapshot() == before

    @pytest.mark.parametrize("skew", [-310, +310, -3600])  # 10 s past it: a loaded machine is slow
    def test_timestamp_outside_the_tolerance_is_refused(self, client, order, settings, skew):
        settings.STRIPE_WEBHOOK_TOLERANCE = 300
        before = snapshot()
        event = stripe_event(COMPLETED, checkout_session(order), "evt_1")

        response = deliver(client, event, timestamp=int(time.time()) + skew)

        assert response.status_code == 400
        assert snapshot() == before

    def test_timestamp_inside_the_tolerance_is_accepted(self, client, order):
        event = stripe_event(COMPLETED, checkout_session(order), "evt_1")

        response = deliver(client, event, timestamp=int(time.time()) - 200)

        assert response.status_code == 200
        assert order_row(order) == (OrderState.SUBMITTED, "Queued")

    def test_signed_body_that_is_not_an_event_is_refused(self, client, order):
        before = snapshot()
        for payload in ("not json", json.dumps([1, 2]), json.dumps({"id": "evt_1"})):
            response = client.post(
                WEBHOOK_URL,
                payload,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=sign(payload),
            )
            assert response.status_code == 400
            assert response.json()["error"] == "Invalid request"
        assert snapshot() == before

    def test_checkout_event_without_a_session_is_refused(self, client, order):
        before = snapshot()
        event = stripe_event(COMPLETED, example_event()["data"]["object"], "evt_1")

        assert deliver(client, event).status_code == 400
        assert snapshot() == before

    def test_only_post_is_accepted(self, client):
        assert client.get(WEBHOOK_URL).status_code == 405


class TestIdempotency:
    def test_duplicate_delivery_three_times_changes_nothing_after_the_first(self, client, order):
        outcomes = [send(client, order).json()["outcome"] for _ in range(3)]

        assert outcomes == ["submitted", "duplicate", "duplicate"]
        assert order_row(order) == (OrderState.SUBMITTED, "Queued")
        assert timeline(order) == [CREATED, QUEUED]
        assert event_log() == [("evt_1", COMPLETED, "submitted", order.pk)]

    def test_replay_with_a_fresh_signature_changes_nothing(self, client, order):
        send(client, order)
        before = snapshot()
        event = stripe_event(COMPLETED, checkout_session(order), "evt_1")

        response = deliver(client, event, timestamp=int(time.time()) + 5)

        assert response.json()["outcome"] == "duplicate"
        assert snapshot() == before

    def test_a_second_event_for_the_same_payment_leaves_the_order_alone(self, client, order):
        send(client, order, event_id="evt_1")
        response = send(client, order, event_id="evt_2")

        assert response.json()["outcome"] == "unchanged"
        assert timeline(order) == [CREATED, QUEUED]
        assert event_log() == [
            ("evt_1", COMPLETED, "submitted", order.pk),
            ("evt_2", COMPLETED, "unchanged", order.pk),
        ]


class TestOrdering:
    def test_expired_after_completed_does_not_cancel_a_paid_order(self, client, order):
        send(client, order, event_id="evt_paid")
        response = send(
            client,
            order,
            EXPIRED,
            event_id="evt_expired",
            status="expired",
            payment_status="unpaid",
        )

        assert response.status_code == 200
        assert order_row(order) == (OrderState.SUBMITTED, "Queued")
        assert timeline(order) == [CREATED, QUEUED]
        assert event_log() == [
            ("evt_paid", COMPLETED, "submitted", order.pk),
            ("evt_expired", EXPIRED, "unchanged", order.pk),
        ]

    def test_completed_after_expired_keeps_the_order_canceled_and_refunds_the_payment(
        self, client, order, caplog
    ):
        send(client, order, EXPIRED, "evt_expired", status="expired", payment_status="unpaid")
        with caplog.at_level(logging.WARNING):
            response = send(client, order, event_id="evt_paid")

        assert response.json()["outcome"] == "refund_requested"
        assert order_row(order) == (OrderState.CANCELED, "Spec Review")
        assert timeline(order) == [
            CREATED,
            ("Canceled", "Checkout expired before payment, order canceled", "stripe"),
            ("Refund requested", "Refund of $90.00 requested", "stripe"),
        ]
        assert event_log() == [
            ("evt_expired", EXPIRED, "canceled", order.pk),
            ("evt_paid", COMPLETED, "refund_requested", order.pk),
        ]
        [refund] = Refund.objects.all()
        assert (refund.amount, refund.currency, refund.state, refund.reason) == (
            9000,
            "usd",
            "pending",
            "paid_after_cancel",
        )
        assert "Payment confirmed for canceled order" in caplog.text

    def test_expiry_of_an_older_session_leaves_the_current_one_payable(self, client, order):
        response = send(
            client, order, EXPIRED, "evt_old", id="cs_test_older_session", status="expired"
        )

        assert response.json()["outcome"] == "stale_session"
        assert order_row(order) == (OrderState.DRAFT, "Spec Review")
        assert timeline(order) == [CREATED]


class TestAsyncPayments:
    def test_unpaid_completion_waits_then_async_success_submits(self, client, order):
        first = send(client, order, event_id="evt_1", payment_status="unpaid")

        assert first.json()["outcome"] == "awaiting_payment"
        assert order_row(order) == (OrderState.DRAFT, "Spec Review")
        assert timeline(order) == [CREATED]

        second = send(client, order, ASYNC_OK, "evt_2")

        assert second.json()["outcome"] == "submitted"
        assert order_row(order) == (OrderState.SUBMITTED, "Queued")
        assert timeline(order) == [CREATED, QUEUED]
        assert event_log() == [
            ("evt_1", COMPLETED, "awaiting_payment", order.pk),
            ("evt_2", ASYNC_OK, "submitted", order.pk),
        ]

    def test_async_failure_cancels_the_draft_with_an_event(self, client, order):
        send(client, order, event_id="evt_1", payment_status="unpaid")
        response = send(client, order, ASYNC_FAILED, "evt_2", payment_status="unpaid")

        assert response.json()["outcome"] == "canceled"
        assert order_row(order) == (OrderState.CANCELED, "Spec Review")
        assert timeline(order) == [
            CREATED,
            ("Canceled", "Payment failed, order canceled", "stripe"),
        ]
        assert event_log() == [
            ("evt_1", COMPLETED, "awaiting_payment", order.pk),
            ("evt_2", ASYNC_FAILED, "canceled", order.pk),
        ]

    def test_async_failure_after_payment_changes_nothing(self, client, order):
        send(client, order, event_id="evt_1")
        response = send(client, order, ASYNC_FAILED, "evt_2", payment_status="unpaid")

        assert response.json()["outcome"] == "unchanged"
        assert order_row(order) == (OrderState.SUBMITTED, "Queued")


class TestRefusals:
    @pytest.mark.parametrize(
        ("overrides", "paid"),
        [
            ({"amount_total": 8999}, "Paid 8999 usd"),
            ({"amount_total": 100}, "Paid 100 usd"),
            ({"currency": "eur"}, "Paid 9000 eur"),
            ({"amount_total": None}, "has no amount"),
        ],
    )
    def test_amount_or_currency_mismatch_is_refused_and_logged(
        self, client, order, caplog, overrides, paid
    ):
        with caplog.at_level(logging.ERROR, logger="payments"):
            response = send(client, order, **overrides)

        assert response.status_code == 200
        assert response.json()["outcome"] == "refused"
        assert order_row(order) == (OrderState.DRAFT, "Spec Review")
        assert timeline(order) == [CREATED]
        [logged] = ProcessedEvent.objects.all()
        assert (logged.event_id, logged.outcome, logged.order_id) == ("evt_1", "refused", order.pk)
        assert paid in logged.detail
        assert "evt_1 refused" in caplog.text

    def test_refused_event_stays_refused_on_redelivery(self, client, order):
        send(client, order, amount_total=1)
        response = send(client, order, amount_total=1)

        assert response.json()["outcome"] == "duplicate"
        assert order_row(order) == (OrderState.DRAFT, "Spec Review")

    def test_event_for_an_unknown_order_is_logged_and_ignored(self, client, order):
        before_orders = snapshot()[:3]
        session = checkout_session(
            None, id="cs_test_not_ours", client_reference_id="not-a-uuid", metadata={}
        )

        response = deliver(client, stripe_event(COMPLETED, session, "evt_stranger"))

        assert response.status_code == 200
        assert response.json()["outcome"] == "unknown_order"
        assert snapshot()[:3] == before_orders
        assert event_log() == [("evt_stranger", COMPLETED, "unknown_order", None)]

    def test_order_is_found_by_session_id_without_a_reference(self, client, order):
        response = send(client, order, client_reference_id=None, metadata={})

        assert response.json()["outcome"] == "submitted"
        assert order_row(order) == (OrderState.SUBMITTED, "Queued")

    def test_unknown_event_type_is_ignored_and_writes_nothing(self, client, order):
        before = snapshot()

        response = deliver(client, example_event())

        assert response.status_code == 200
        assert response.json() == {"received": True, "outcome": "ignored"}
        assert snapshot() == before


class TestFailures:
    def test_database_error_answers_500_and_the_retry_succeeds(self, client, order, monkeypatch):
        real = payment_services.submit_paid_order_in_transaction

        def broken(**kwargs):
            raise DatabaseError("connection lost")

        monkeypatch.setattr(payment_services, "submit_paid_order_in_transaction", broken)
        before = snapshot()

        response = send(client, order)

        assert response.status_code == 500
        assert response.json() == {"error": "Internal error"}
        assert snapshot() == before

        monkeypatch.setattr(payment_services, "submit_paid_order_in_transaction", real)
        assert send(client, order).json()["outcome"] == "submitted"
        assert event_log() == [("evt_1", COMPLETED, "submitted", order.pk)]

    def test_order_change_is_undone_when_the_event_cannot_be_logged(
        self, client, order, monkeypatch
    ):
        def broken(**kwargs):
            raise DatabaseError("disk full")

        monkeypatch.setattr(ProcessedEvent.objects, "create", broken)
        before = snapshot()

        response = send(client, order)

        assert response.status_code == 500
        assert snapshot() == before
        assert order_row(order) == (OrderState.DRAFT, "Spec Review")


def test_rush_order_is_paid_at_its_surcharged_total(client, customer, garment):
    draft = make_order(owner=customer, garment=garment, sizes=[("M", 3)], priority=Priority.RUSH)
    start_checkout(order=draft)
    draft.refresh_from_db()
    assert draft.total_amount == 6750

    response = send(client, draft)

    assert response.json()["outcome"] == "submitted"
