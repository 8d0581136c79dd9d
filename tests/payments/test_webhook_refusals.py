"""Signed Stripe events the shop cannot act on: a refund its payment cannot have, an event of
another Stripe account or mode, a payment of a canceled order reported twice. Each is answered
2xx with its outcome recorded and logged (Stripe would send it again on anything else, and that
cannot help), and none writes a refund (docs/decisions/0053)."""

import logging

import pytest
from django.test import Client

from payments.models import ProcessedEvent, Refund
from payments.services import start_checkout
from production.lifecycle import OrderState
from production.models import FulfillmentEvent, ProductionOrder
from tests.factories import make_order
from tests.payments.refund_support import paid_order, payment_of, refunds_of
from tests.payments.stripe_events import (
    charge_object,
    checkout_session,
    deliver,
    refund_object,
    stripe_event,
)

pytestmark = pytest.mark.django_db

COMPLETED = "checkout.session.completed"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "http://shop.test"


@pytest.fixture
def client():
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def order(customer, garment):
    """Approved, paid $90.00 through a signed checkout event."""
    return paid_order(owner=customer, garment=garment, state=OrderState.APPROVED)


@pytest.fixture
def draft(customer, garment):
    """A draft of $90.00 whose checkout has started."""
    made = make_order(owner=customer, garment=garment)
    start_checkout(order=made)
    return ProductionOrder.objects.get(pk=made.pk)


def recorded(event_id):
    return ProcessedEvent.objects.values_list("outcome", "detail").get(event_id=event_id)


def dashboard_refund(order, event_id, **fields):
    """A refund event for a refund this app did not ask for, on the order's payment."""
    refund = {
        "id": "re_dashboard",
        "amount": 4000,
        "currency": "usd",
        "payment_intent": payment_of(order).payment_intent_id,
        "metadata": {},
        "status": "succeeded",
        **fields,
    }
    return stripe_event("refund.updated", refund_object(**refund), event_id)


# --- refund amounts no payment of the shop can have ----------------------------------------------


@pytest.mark.parametrize(
    "amount",
    [
        pytest.param(10**30, id="10^30"),
        pytest.param(2**63, id="beyond-64-bit"),
        pytest.param(2**31, id="beyond-the-column"),
        pytest.param(9001, id="one-cent-above-the-payment"),
        pytest.param(0, id="zero"),
        pytest.param(-100, id="negative"),
    ],
)
def test_a_refund_outside_what_the_payment_took_is_refused_recorded_and_answered_200(
    client, order, amount, caplog
):
    with caplog.at_level(logging.ERROR, logger="payments.refunds"):
        response = deliver(client, dashboard_refund(order, "evt_amount", amount=amount))

    assert (response.status_code, response.json()["outcome"]) == (200, "refund_refused")
    intent = payment_of(order).payment_intent_id
    detail = (
        f"Refund re_dashboard is for {amount} (minor units), outside what payment {intent} can "
        "give back: 1 to 9000 ($90.00)."
    )
    assert recorded("evt_amount") == ("refund_refused", detail)
    assert refunds_of(order) == []  # no "external" refund written
    assert f"{order.reference}: Stripe refund event refused: {detail}" in caplog.text
    # Sent again by Stripe: the same event, nothing more.
    assert deliver(client, dashboard_refund(order, "evt_amount", amount=amount)).json() == {
        "received": True,
        "outcome": "duplicate",
    }


def test_a_refund_in_another_currency_is_refused_and_not_recorded(client, order):
    response = deliver(client, dashboard_refund(order, "evt_eur", currency="eur"))

    assert (response.status_code, response.json()["outcome"]) == (200, "refund_refused")
    intent = payment_of(order).payment_intent_id
    assert recorded("evt_eur") == (
        "refund_refused",
        f"Refund re_dashboard is in EUR, payment {intent} was in USD.",
    )
    assert refunds_of(order) == []


def test_an_event_about_our_own_refund_with_an_impossible_amount_leaves_it_pending(
    client, order, operator
):
    from payments.refunds import request_refund

    ours = request_refund(order=order, amount=1000, actor=operator)
    event = dashboard_refund(
        order,
        "evt_ours",
        id="re_ours",
        amount=10**30,
        metadata={"refundId": str(ours.pk), "orderId": str(order.pk)},
    )

    response = deliver(client, event)

    assert (response.status_code, response.json()["outcome"]) == (200, "refund_refused")
    assert refunds_of(order) == [(1000, "pending", "operator")]


def test_charge_refunded_listing_an_impossible_refund_is_refused_and_records_nothing(client, order):
    intent = payment_of(order).payment_intent_id
    listed = refund_object(id="re_huge", amount=10**30, payment_intent=intent, metadata={})
    charge = charge_object(refunds=[listed], payment_intent=intent)
    charge["amount_refunded"] = 10**30

    response = deliver(client, stripe_event("charge.refunded", charge, "evt_charge"))

    assert (response.status_code, response.json()["outcome"]) == (200, "refund_refused")
    assert recorded("evt_charge")[1].startswith(f"Refund re_huge is for {10**30} (minor units)")
    assert refunds_of(order) == []


def test_a_refund_within_the_payment_is_still_recorded_as_external(client, order):
    response = deliver(client, dashboard_refund(order, "evt_ok", amount=9000))

    assert response.json()["outcome"] == "refund_recorded"
    assert refunds_of(order) == [(9000, "succeeded", "external")]


# --- another account, another mode ---------------------------------------------------------------


def paid_event(draft, event_id="evt_paid", **envelope):
    event = stripe_event(COMPLETED, checkout_session(draft), event_id)
    event.update(envelope)
    return event


def assert_ignored(response, event_id, draft, detail):
    assert (response.status_code, response.json()["outcome"]) == (200, "other_account")
    assert recorded(event_id) == ("other_account", detail)
    assert ProcessedEvent.objects.get(event_id=event_id).order_id is None
    draft.refresh_from_db()
    assert draft.status == OrderState.DRAFT  # not paid by another account's or mode's event
    assert Refund.objects.count() == 0
    assert FulfillmentEvent.objects.filter(order=draft).count() == 1  # "created" only


def test_a_live_mode_event_with_a_test_key_is_recorded_as_another_accounts(
    client, draft, settings, caplog
):
    settings.STRIPE_SECRET_KEY = "sk_test_shop"
    with caplog.at_level(logging.ERROR, logger="payments.services"):
        response = deliver(client, paid_event(draft, livemode=True))

    assert_ignored(
        response,
        "evt_paid",
        draft,
        "a live-mode event, but STRIPE_SECRET_KEY is a test-mode key.",
    )
    assert "Stripe event evt_paid ignored: a live-mode event" in caplog.text


def test_a_test_mode_event_with_a_live_key_is_recorded_as_another_accounts(client, draft, settings):
    settings.STRIPE_SECRET_KEY = "sk_live_shop"

    response = deliver(client, paid_event(draft, livemode=False))

    assert_ignored(
        response,
        "evt_paid",
        draft,
        "a test-mode event, but STRIPE_SECRET_KEY is a live-mode key.",
    )


def test_an_event_of_another_stripe_account_is_recorded_and_ignored(client, draft, settings):
    settings.STRIPE_ACCOUNT_ID = "acct_shop"

    response = deliver(client, paid_event(draft, account="acct_someone_else"))

    assert_ignored(
        response,
        "evt_paid",
        draft,
        "an event of Stripe account 'acct_someone_else', not STRIPE_ACCOUNT_ID acct_shop.",
    )


@pytest.mark.parametrize(
    ("configured", "account"),
    [
        pytest.param("acct_shop", "acct_shop", id="the-shops-account"),
        pytest.param("acct_shop", None, id="no-account-named"),
        pytest.param("", "acct_any", id="not-configured"),
    ],
)
def test_an_event_of_the_shops_account_and_mode_pays(client, draft, settings, configured, account):
    settings.STRIPE_ACCOUNT_ID = configured
    event = paid_event(draft)
    if account is not None:
        event["account"] = account

    response = deliver(client, event)

    assert response.json()["outcome"] == "submitted"
    draft.refresh_from_db()
    assert draft.status == OrderState.SUBMITTED


@pytest.mark.parametrize("livemode", ["false", None, 0])
def test_an_event_whose_livemode_is_not_a_boolean_is_400(client, draft, livemode):
    response = deliver(client, paid_event(draft, livemode=livemode))

    assert response.status_code == 400
    assert ProcessedEvent.objects.count() == 0


# --- paid after cancel, reported twice ---------------------------------------------------------


def test_a_second_event_paying_a_canceled_order_refunds_nothing_more(client, draft, caplog):
    expired = checkout_session(draft, status="expired", payment_status="unpaid")
    deliver(client, stripe_event("checkout.session.expired", expired, "evt_expired"))
    first = deliver(client, paid_event(draft, "evt_paid"))
    assert first.json()["outcome"] == "refund_requested"

    with caplog.at_level(logging.INFO, logger="payments"):
        second = deliver(
            client,
            stripe_event(
                "checkout.session.async_payment_succeeded", checkout_session(draft), "evt_async"
            ),
        )

    assert (second.status_code, second.json()["outcome"]) == (200, "unchanged")
    assert recorded("evt_async") == (
        "unchanged",
        f"{draft.reference} was canceled before this payment; its refund was asked for already, "
        "nothing more to refund.",
    )
    assert refunds_of(draft) == [(9000, "pending", "paid_after_cancel")]
    assert "$0.00" not in caplog.text
    refund_events = FulfillmentEvent.objects.filter(order=draft, kind="refund")
    assert list(refund_events.values_list("message", flat=True)) == ["Refund of $90.00 requested"]
