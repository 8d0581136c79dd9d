"""In a real browser: a customer orders on /orders/new/, pays on the simulator, sees it queued."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser_support import (  # noqa: F401 — pytest fixtures
    browser_type_launch_args,
    fill_ship_to,
    log_in,
    plain_http_live_server,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("plain_http_live_server"),
]


def test_customer_orders_pays_on_the_simulator_and_sees_the_order_queued(
    live_server, page, settings, garment, customer
):
    # The simulator serves only with DEBUG on; tests otherwise run with production settings.
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""
    settings.SITE_URL = ""
    base = live_server.url

    log_in(page, base, "customer@example.com", next_url="/orders/new/")
    page.get_by_label(re.compile(r"^Classic Tee — \$18\.00 each")).check()
    page.get_by_label("M", exact=True).fill("2")
    page.get_by_label("L", exact=True).fill("3")
    page.get_by_label("Rush", exact=False).check()
    page.get_by_label("Design URL").fill("https://cdn.example.com/design.png")
    page.get_by_label("Notes for the print shop (optional)").fill("Left chest, please")
    expect(page.get_by_label("Shipping", exact=True)).to_be_checked()  # preselected
    fill_ship_to(page)
    page.get_by_role("button", name="Continue to payment").click()

    expect(page).to_have_url(re.compile(r"/payments/checkout/cs_local_[0-9a-f]{32}/$"))
    # 5 × 18.00 + 25 % rush
    expect(page.locator("#checkout-total")).to_have_text("$112.50")
    page.get_by_role("button", name="Pay $112.50").click()

    expect(page).to_have_url(re.compile(r"/orders/[0-9a-f-]{36}/\?checkout=success$"))
    expect(page.locator("#order-stage")).to_have_text("Paid — the shop is checking your artwork")
    expect(page.locator("#timeline")).to_contain_text("Payment confirmed, order queued")
