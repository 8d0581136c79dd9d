"""In a real browser, 360 px and 1366 px: an order that reached checkout without an address (as
the reference API makes them) has the checkout simulator ask for it, as Stripe Checkout's
`shipping_address_collection` would; the paid order carries it."""

import re

import pytest
from django.test import RequestFactory
from playwright.sync_api import expect

from payments.services import start_checkout
from production.models import ProductionOrder
from tests.browser_support import (  # noqa: F401 — pytest fixtures
    browser_type_launch_args,
    log_in,
    plain_http_live_server,
)
from tests.factories import make_order
from tests.production.test_layout_browser import OVERFLOW

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("plain_http_live_server"),
]


@pytest.mark.parametrize("width", [360, 1366])
def test_the_simulator_asks_for_the_address_and_the_paid_order_carries_it(
    live_server, page, settings, garment, customer, width
):
    settings.DEBUG = True  # the checkout simulator serves only with DEBUG on
    settings.STRIPE_SECRET_KEY = ""
    settings.SITE_URL = ""
    settings.SHIPPING_COUNTRIES = ["US", "GB"]
    order = make_order(owner=customer, garment=garment, sizes=[("M", 2)])
    start_checkout(order=order, request=RequestFactory().get("/", HTTP_HOST="testserver"))
    order = ProductionOrder.objects.get(pk=order.pk)
    session = order.stripe_checkout_session_id
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server.url, "customer@example.com", next_url=f"/payments/checkout/{session}/")

    fields = page.locator("#checkout-address")
    expect(fields).to_be_visible()
    expect(page.locator("#checkout-shipping")).to_contain_text("Free")
    overflow = page.evaluate(OVERFLOW)
    assert overflow["scroll"] <= overflow["inner"], overflow

    # Pay without an address: refused next to the fields, nothing paid.
    page.get_by_role("button", name=re.compile("^Pay ")).click()
    expect(page.locator("#checkout-shipping-line1-error")).to_contain_text("required")
    assert ProductionOrder.objects.get(pk=order.pk).status == "draft"

    fields.get_by_label("Full name").fill("Grace Hopper")
    fields.get_by_label("Address line 1").fill("221B Baker Street")
    fields.get_by_label("City").fill("London")
    fields.get_by_label("Postal code").fill("NW1 6XE")
    fields.get_by_label("Country").select_option("GB")
    page.get_by_role("button", name=re.compile("^Pay ")).click()

    expect(page).to_have_url(re.compile(r"/orders/[0-9a-f-]{36}/\?checkout=success$"))
    ship_to = page.locator("#ship-to")
    for text in ("Grace Hopper", "221B Baker Street", "London", "NW1 6XE", "United Kingdom"):
        expect(ship_to).to_contain_text(text)
    paid = ProductionOrder.objects.get(pk=order.pk)
    assert (paid.status, paid.delivery) == ("submitted", "shipping")
    assert paid.shipping_address.postal_code == "NW1 6XE"
