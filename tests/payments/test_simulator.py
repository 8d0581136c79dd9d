"""The local checkout simulator: DEBUG only, and Pay goes through the webhook's own code."""

import pytest
from django.test import Client, RequestFactory

from payments import services as payment_services
from payments.models import ProcessedEvent
from payments.services import start_checkout
from production.lifecycle import OrderState
from production.models import FulfillmentEvent, ProductionOrder
from tests.factories import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def debug(settings):
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""
    settings.SITE_URL = ""
    return settings


@pytest.fixture
def order(customer, garment):
    draft = make_order(owner=customer, garment=garment, sizes=[("M", 2), ("XXL", 1)])
    start_checkout(order=draft, request=RequestFactory().get("/"))
    return ProductionOrder.objects.get(pk=draft.pk)


@pytest.fixture
def owner(customer):
    client = Client()
    client.force_login(customer)
    return client


# What the simulator's address fields post, as Stripe's page asks for them when the session
# collects the address (these orders have none: Checkout asks).
PAY = {
    "action": "pay",
    "shipping-name": "Ada Lovelace",
    "shipping-line1": "1600 Amphitheatre Pkwy",
    "shipping-city": "Mountain View",
    "shipping-state": "CA",
    "shipping-postal_code": "94043",
    "shipping-country": "US",
}


def page_url(order):
    return f"/payments/checkout/{order.stripe_checkout_session_id}/"


def action_url(order):
    return f"{page_url(order)}action/"


def test_checkout_url_points_at_the_simulator(order):
    assert order.stripe_checkout_session_id == f"cs_local_{order.pk.hex}"
    assert order.checkout_url == f"http://testserver/payments/checkout/cs_local_{order.pk.hex}/"


def test_refuses_to_serve_when_debug_is_off(owner, order, settings):
    settings.DEBUG = False

    assert owner.get(page_url(order)).status_code == 404
    assert owner.post(action_url(order), {"action": "pay"}).status_code == 404
    assert ProductionOrder.objects.get(pk=order.pk).status == OrderState.DRAFT


def test_refuses_to_serve_when_real_stripe_is_configured(owner, order, debug):
    debug.STRIPE_SECRET_KEY = "sk_test_real"

    assert owner.get(page_url(order)).status_code == 404


def test_shows_the_order_summary_and_total(owner, order, debug):
    response = owner.get(page_url(order))

    assert response.status_code == 200
    page = response.content.decode()
    assert f"Pay for order {order.reference}" in page
    assert "Classic Tee — M" in page and "Classic Tee — XXL" in page
    # 2 × 18.00 + 1 × 20.00
    assert "$56.00" in page
    assert 'value="pay"' in page and "?checkout=canceled" in page


def test_other_customers_and_strangers_cannot_use_it(order, debug, other_customer):
    other = Client()
    other.force_login(other_customer)

    assert other.get(page_url(order)).status_code == 403
    assert other.post(action_url(order), {"action": "pay"}).status_code == 403
    assert Client().get(page_url(order)).status_code == 302  # to the login page
    assert owner_state(order) == OrderState.DRAFT


def test_unknown_or_foreign_sessions_are_not_found(owner, order, debug):
    assert owner.get("/payments/checkout/cs_local_nope/").status_code == 404
    assert owner.get("/payments/checkout/cs_test_a1b2c3/").status_code == 404


def owner_state(order):
    return ProductionOrder.objects.get(pk=order.pk).status


def test_pay_sends_a_signed_event_through_the_webhook_and_lands_on_the_order(
    owner, order, debug, monkeypatch
):
    verified = []
    real_verify = payment_services.verify_event

    def spy(**kwargs):
        event = real_verify(**kwargs)
        verified.append((event["type"], kwargs["signature"]))
        return event

    monkeypatch.setattr(payment_services, "verify_event", spy)

    response = owner.post(action_url(order), PAY)

    assert response.status_code == 302
    assert response["Location"] == f"/orders/{order.pk}/?checkout=success"
    [(event_type, signature)] = verified
    assert event_type == "checkout.session.completed"
    assert signature.startswith("t=") and ",v1=" in signature
    paid = ProductionOrder.objects.get(pk=order.pk)
    assert (paid.status, paid.production_status) == (OrderState.SUBMITTED, "Queued")
    [logged] = ProcessedEvent.objects.all()
    assert logged.event_id.startswith("evt_local_")
    assert (logged.outcome, logged.order_id) == ("submitted", order.pk)

    landing = owner.get(response["Location"])
    assert "Thank you" in landing.content.decode()
    assert "Payment confirmed, order queued" in landing.content.decode()


def test_pay_uses_the_configured_webhook_secret(owner, order, debug):
    debug.STRIPE_WEBHOOK_SECRET = "whsec_configured_for_this_server"

    owner.post(action_url(order), PAY)

    assert owner_state(order) == OrderState.SUBMITTED


def test_paying_twice_submits_once(owner, order, debug):
    owner.post(action_url(order), PAY)
    response = owner.post(action_url(order), PAY)

    assert response["Location"] == f"/orders/{order.pk}/"
    assert FulfillmentEvent.objects.filter(order=order, status="Queued").count() == 1
    assert ProcessedEvent.objects.count() == 1
    assert "checkout is closed" in owner.get(page_url(order)).content.decode()


def test_cancel_returns_to_the_order_which_stays_payable(owner, order, debug):
    response = owner.get(f"/orders/{order.pk}/?checkout=canceled")

    assert "Checkout canceled" in response.content.decode()
    assert owner_state(order) == OrderState.DRAFT
    assert owner.get(page_url(order)).status_code == 200


def test_expire_cancels_the_draft_through_the_webhook(owner, order, debug):
    response = owner.post(action_url(order), {"action": "expire"})

    assert response["Location"] == f"/orders/{order.pk}/"
    assert owner_state(order) == OrderState.CANCELED
    assert ProcessedEvent.objects.get().outcome == "canceled"


def test_unknown_action_changes_nothing(owner, order, debug):
    owner.post(action_url(order), {"action": "refund"})

    assert owner_state(order) == OrderState.DRAFT
    assert not ProcessedEvent.objects.exists()
