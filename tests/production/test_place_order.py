"""Placing an order: one service behind the API and the order form, its checkout wired by
settings (the order domain does not import the payments app)."""

import pytest
from django.test import Client

from production.exceptions import CheckoutUnavailable
from production.lifecycle import OrderState
from production.models import ProductionOrder
from production.pricing import SizeQuantity
from production.services.orders import place_order
from tests.factories import ORDER_FORM_ADDRESS

pytestmark = pytest.mark.django_db

started: list[str] = []


def fake_checkout(*, order, request=None) -> str:
    started.append(order.reference)
    return f"https://pay.example/{order.reference}"


def failing_checkout(*, order, request=None) -> str:
    raise CheckoutUnavailable("provider down")


@pytest.fixture
def checkout(settings):
    started.clear()
    settings.ORDER_CHECKOUT = "tests.production.test_place_order.fake_checkout"
    return started


def test_place_order_makes_a_draft_and_starts_its_checkout(checkout, customer, garment):
    placed = place_order(
        owner=customer,
        garment_gid=garment.shopify_gid,
        design_url="https://cdn.example.com/d.png",
        sizes=[SizeQuantity("M", 2)],
    )
    assert placed.order.status == OrderState.DRAFT
    assert placed.checkout_url == f"https://pay.example/{placed.order.reference}"
    assert checkout == [placed.order.reference]


def test_the_api_and_the_form_both_place_orders_through_it(
    checkout, customer, garment, customer_api
):
    response = customer_api.post(
        "/api/production",
        {
            "designUrl": "https://cdn.example.com/d.png",
            "garmentId": garment.shopify_gid,
            "sizes": [{"size": "M", "quantity": 1}],
        },
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["checkoutUrl"].startswith("https://pay.example/ORD-")

    browser = Client()
    browser.force_login(customer)
    page = browser.post(
        "/orders/new/",
        {
            "garment": garment.shopify_gid,
            "design_url": "https://cdn.example.com/d.png",
            "priority": "standard",
            "qty_m": "2",
            "form_token": "f" * 32,
            **ORDER_FORM_ADDRESS,
        },
    )
    assert page.status_code == 302, page.content.decode()[:2000]
    assert page["Location"].startswith("https://pay.example/ORD-")
    assert len(checkout) == 2


def test_a_provider_failure_keeps_the_draft_for_a_retry(settings, customer, garment):
    settings.ORDER_CHECKOUT = "tests.production.test_place_order.failing_checkout"
    ask = {
        "owner": customer,
        "garment_gid": garment.shopify_gid,
        "design_url": "https://cdn.example.com/d.png",
        "sizes": [SizeQuantity("M", 2)],
        "idempotency_key": "retry-me",
    }
    with pytest.raises(CheckoutUnavailable):
        place_order(**ask)
    settings.ORDER_CHECKOUT = "tests.production.test_place_order.fake_checkout"
    placed = place_order(**ask)
    assert ProductionOrder.objects.filter(owner=customer).count() == 1
    assert placed.checkout_url.endswith(placed.order.reference)
