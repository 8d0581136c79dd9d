"""The customer's pages: my orders and the order page, complete without JavaScript."""

import re

import pytest

from production.lifecycle import OrderState, Priority
from tests.factories import GarmentFactory, make_order

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def visible(response) -> str:
    """The page as a reader sees it: tags gone, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


class TestMyOrders:
    def test_lists_only_my_orders_newest_first(self, client, customer, other_customer):
        first = make_order(owner=customer, garment=GarmentFactory(name="Classic Tee"))
        second = make_order(
            owner=customer,
            garment=GarmentFactory(name="Hoodie"),
            state=OrderState.SUBMITTED,
            priority=Priority.RUSH,
        )
        theirs = make_order(owner=other_customer)
        client.force_login(customer)
        page = visible(client.get("/orders/"))
        assert page.index(second.reference) < page.index(first.reference)
        assert theirs.reference not in page
        assert "Hoodie" in page and "Classic Tee" in page
        assert "Submitted · Queued" in page
        assert "Rush" in page
        assert "4 days" in page or "3 days" in page  # rush: three days from payment
        assert "90.00 USD" in page  # 2 × 18.00 + 3 × 18.00

    def test_is_paginated(self, client, customer):
        garment = GarmentFactory()
        orders = [make_order(owner=customer, garment=garment) for _ in range(21)]
        client.force_login(customer)
        first_page, second_page = text(client.get("/orders/")), text(client.get("/orders/?page=2"))
        assert orders[-1].reference in first_page and orders[0].reference not in first_page
        assert orders[0].reference in second_page
        assert "Page 2 of 2" in second_page

    def test_runs_a_fixed_number_of_queries(self, client, customer, django_assert_max_num_queries):
        for _ in range(5):
            make_order(owner=customer)
        client.force_login(customer)
        with django_assert_max_num_queries(6):
            client.get("/orders/")

    def test_anonymous_visitor_is_sent_to_log_in(self, client):
        response = client.get("/orders/")
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    def test_no_orders_says_so(self, client, customer):
        client.force_login(customer)
        assert "You have no orders yet" in text(client.get("/orders/"))


class TestOrderPage:
    def test_shows_everything_about_the_order(self, client, customer):
        order = make_order(owner=customer, state=OrderState.IN_PRODUCTION)
        client.force_login(customer)
        page = text(client.get(f"/orders/{order.pk}/"))
        stages = re.findall(r'<li data-stage="([^"]+)" class="([^"]*)"', page)
        assert [name for name, _ in stages] == [
            "Spec Review",
            "Queued",
            "Printing",
            "Finishing",
            "Ready",
        ]
        assert [css.strip() for _, css in stages] == ["done", "done", "current", "", ""]
        assert 'aria-current="step">Printing' in page
        assert "In production" in page
        assert "Standard" in page
        assert '<img src="https://cdn.example.com/design.png"' in page
        assert order.garment.name in page
        assert "<td>M</td><td>Direct to garment</td>" in page
        assert "<td>L</td><td>Direct to garment</td>" in page
        assert 'Total</th><td class="num">90.00 USD' in page
        for message in ("Order created", "Payment confirmed", "approved", "Production started"):
            assert message in page
        assert "js/order-live" in page

    def test_a_canceled_order_says_so_plainly(self, client, customer):
        order = make_order(owner=customer, state=OrderState.CANCELED)
        client.force_login(customer)
        page = text(client.get(f"/orders/{order.pk}/"))
        assert (
            '<p class="banner canceled" id="canceled-banner"><strong>This order was canceled.'
            in (page)
        )

    def test_an_unpaid_order_offers_its_checkout(self, client, customer):
        order = make_order(owner=customer)
        client.force_login(customer)
        page = text(client.get(f"/orders/{order.pk}/"))
        assert '<p class="banner draft" id="draft-banner">' in page
        assert "Awaiting payment" in page

    def test_other_customers_get_403_and_operators_see_it(
        self, client, customer, other_customer, operator
    ):
        order = make_order(owner=customer)
        client.force_login(other_customer)
        assert client.get(f"/orders/{order.pk}/").status_code == 403
        client.force_login(operator)
        assert client.get(f"/orders/{order.pk}/").status_code == 200

    def test_unknown_order_is_404(self, client, customer):
        client.force_login(customer)
        assert client.get("/orders/00000000-0000-4000-8000-000000000000/").status_code == 404
