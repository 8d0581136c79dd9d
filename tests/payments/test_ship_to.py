"""Where an order goes, as the checkout simulator and the customer's order page show it."""

import pytest
from django.test import Client, RequestFactory

from payments.services import start_checkout
from production.lifecycle import OrderState
from production.models import ProductionOrder
from tests.factories import make_order

pytestmark = pytest.mark.django_db

ADDRESS = {
    "name": "Ada Lovelace",
    "address1": "1600 Amphitheatre Pkwy",
    "city": "Mountain View",
    "stateCode": "CA",
    "countryCode": "US",
    "zip": "94043",
}


@pytest.fixture
def shipping_order(customer, garment, settings):
    settings.SHIPPING_RATES = {"US": 500}
    draft = make_order(
        owner=customer, garment=garment, sizes=[("M", 2)], delivery="shipping", shipping=ADDRESS
    )
    start_checkout(order=draft, request=RequestFactory().get("/"))
    return ProductionOrder.objects.get(pk=draft.pk)


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_checkout_simulator_shows_the_address_and_the_shipping_line(
    customer, shipping_order, settings
):
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""
    page = client_for(customer).get(
        f"/payments/checkout/{shipping_order.stripe_checkout_session_id}/"
    )
    html = page.content.decode()

    assert page.status_code == 200
    assert '<tr id="checkout-shipping"><td>Shipping</td><td>1</td><td>$5.00</td>' in html
    assert "$41.00" in html  # 2 × 18.00 + 5.00
    assert "Ships to" in html and "1600 Amphitheatre Pkwy" in html and "Mountain View, CA" in html


def test_the_owner_sees_the_whole_address_an_operator_only_the_town(
    customer, operator, shipping_order
):
    url = f"/orders/{shipping_order.pk}/"
    mine = client_for(customer).get(url).content.decode()
    theirs = client_for(operator).get(url).content.decode()

    for text in ("Ships to", "Ada Lovelace", "1600 Amphitheatre Pkwy", "Mountain View, CA 94043"):
        assert text in mine
    assert "Ada Lovelace" in theirs and "Mountain View, CA" in theirs and "United States" in theirs
    assert "1600 Amphitheatre Pkwy" not in theirs and "94043" not in theirs


def test_an_order_for_pickup_says_where_to_collect_it(customer, garment, settings):
    settings.PICKUP_ADDRESS = "12 Mill Lane"
    order = make_order(
        owner=customer, garment=garment, delivery="pickup", state=OrderState.SUBMITTED
    )

    page = client_for(customer).get(f"/orders/{order.pk}/").content.decode()

    assert "Pickup at the shop</strong> (12 Mill Lane)" in page
    assert "Ships to" not in page
