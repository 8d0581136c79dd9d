"""A Checkout Session made before the artwork check failed (the design replaced after the customer
opened Stripe) is expired through the stripe SDK, against a local fake Stripe: an old Stripe tab
cannot pay for artwork that will not print; its expiry does not cancel the draft, and the next
payment makes a new session (decision 0069)."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from artwork.models import PreflightReport
from artwork.tasks import request_preflight
from payments.models import ProcessedEvent
from payments.services import start_checkout
from production.lifecycle import OrderState
from production.models import ProductionOrder
from production.services.artwork import override_artwork_fail, replace_design
from tests.artwork.test_preflight import artwork, order_with_design, png
from tests.ops.test_tickets_designs import design_server, url
from tests.payments.fake_stripe import FakeStripe
from tests.payments.stripe_events import deliver, stripe_event


@pytest.fixture
def fake_stripe(settings):
    fake = FakeStripe().start()
    settings.STRIPE_SECRET_KEY = "sk_test_fake_key"
    settings.STRIPE_API_BASE = fake.url
    settings.STRIPE_WEBHOOK_SECRET = "whsec_test_real_key_path"
    settings.SITE_URL = "https://shop.example.com"
    settings.ALLOWED_HOSTS = ["shop.example.com", "testserver"]
    yield fake
    fake.stop()


def paid_for_then_replaced(monkeypatch, customer, task_worker, fake_stripe) -> ProductionOrder:
    """A draft whose good design passed, with an open session, then given a design that fails."""
    with design_server(monkeypatch) as server:
        order = order_with_design(monkeypatch, server, png(artwork(2400)), customer)
        request_preflight(order)
        assert task_worker() == ["pass"]
        assert start_checkout(order=order).endswith("/cs_test_fake0001")
        server.routes["/bad.png"] = (200, {}, png(artwork(40)), 0)
        replace_design(
            order=order.pk, placement="front", url=url(server, "/bad.png"), actor=customer
        )
        assert task_worker() == ["fail"]
    return ProductionOrder.objects.get(pk=order.pk)


def test_a_fail_after_the_checkout_expires_its_session(
    monkeypatch, customer, operator, task_worker, fake_stripe
):
    order = paid_for_then_replaced(monkeypatch, customer, task_worker, fake_stripe)

    assert fake_stripe.expired_sessions() == ["cs_test_fake0001"]
    assert fake_stripe.sessions["cs_test_fake0001"]["status"] == "expired"
    assert (order.stripe_checkout_session_id, order.checkout_url) == (None, "")
    closed = order.events.get(metadata__preflight="checkout_closed")
    assert "Payment link closed" in closed.message
    client = Client()
    client.force_login(customer)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert "cs_test_fake0001" not in page  # no link to the old checkout

    # Stripe then reports the session expired: the draft stays.
    session = {**fake_stripe.sessions["cs_test_fake0001"]}
    response = deliver(Client(), stripe_event("checkout.session.expired", session, "evt_closed_1"))
    assert response.status_code == 200
    assert ProcessedEvent.objects.get(event_id="evt_closed_1").outcome == "stale_session"
    assert ProductionOrder.objects.get(pk=order.pk).status == OrderState.DRAFT

    # Once the shop accepts the design, paying makes a new session under a new key.
    override_artwork_fail(order=order.pk, placement="front", actor=operator, reason="Pixel art")
    again = start_checkout(order=ProductionOrder.objects.get(pk=order.pk))
    assert again.endswith("/cs_test_fake0002")
    created = fake_stripe.created_sessions()
    assert [r["headers"]["Idempotency-Key"] for r in created] == [
        f"checkout-order-{order.pk}",
        f"checkout-order-{order.pk}-1",
    ]


def test_a_session_stripe_will_not_expire_is_left_to_the_webhook(
    monkeypatch, customer, task_worker, fake_stripe, caplog
):
    with design_server(monkeypatch) as server:
        order = order_with_design(monkeypatch, server, png(artwork(2400)), customer)
        request_preflight(order)
        task_worker()
        start_checkout(order=order)
        fake_stripe.sessions["cs_test_fake0001"]["status"] = "complete"  # paid meanwhile
        server.routes["/bad.png"] = (200, {}, png(artwork(40)), 0)
        replace_design(
            order=order.pk, placement="front", url=url(server, "/bad.png"), actor=customer
        )
        with caplog.at_level(logging.ERROR):
            assert task_worker() == ["fail"]

    assert "could not be expired" in caplog.text
    order = ProductionOrder.objects.get(pk=order.pk)
    assert order.stripe_checkout_session_id == "cs_test_fake0001"  # its payment is the webhook's
    assert PreflightReport.objects.get(order=order).verdict == "fail"
