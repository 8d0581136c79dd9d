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


# Issue 28: the queries of an order's creation, as launch day makes them (bench/launch_load.py:
# a design, two sizes, pickup), checkout included. Counted inside the test's transaction, where
# every atomic block adds a SAVEPOINT and its RELEASE (6 of these). Before: 29 (API), 37 (form).
CREATION_QUERIES = 22


@pytest.fixture
def launch_order(settings, garment):
    settings.PICKUP_ADDRESS = "The shop"
    return {
        "design_url": "https://cdn.example.com/d.png",
        "sizes": [("M", 2), ("L", 1)],
        "garment": garment.shopify_gid,
    }


def test_the_api_creates_an_order_in_few_queries(
    customer_api, launch_order, django_assert_max_num_queries
):
    body = {
        "designUrl": launch_order["design_url"],
        "garmentId": launch_order["garment"],
        "sizes": [{"size": size, "quantity": n} for size, n in launch_order["sizes"]],
        "delivery": "pickup",
    }
    customer_api.post("/api/production", body, format="json")  # warm: the first reads once
    with django_assert_max_num_queries(CREATION_QUERIES):
        response = customer_api.post("/api/production", body, format="json")
    assert response.status_code == 201, response.content
    assert "/payments/checkout/cs_" in response.json()["checkoutUrl"]


def test_the_order_form_creates_an_order_in_few_queries(
    customer, launch_order, django_assert_max_num_queries
):
    browser = Client()
    browser.force_login(customer)
    form = {
        "garment": launch_order["garment"],
        "sizes_for": launch_order["garment"],
        "design_url": launch_order["design_url"],
        "priority": "standard",
        "delivery": "pickup",
        **{f"qty_{size.lower()}": str(n) for size, n in launch_order["sizes"]},
        "notes": "",
    }
    browser.post("/orders/new/", {**form, "form_token": "a" * 32})  # warm
    with django_assert_max_num_queries(CREATION_QUERIES):
        page = browser.post("/orders/new/", {**form, "form_token": "b" * 32})
    assert page.status_code == 302, page.content.decode()[:2000]
    assert "/payments/checkout/cs_" in page["Location"]
    assert ProductionOrder.objects.filter(owner=customer).count() == 2
