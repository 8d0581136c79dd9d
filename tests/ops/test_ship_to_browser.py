"""In a real browser, on a phone (360 px) and a desktop (1366 px): an operator reads where an
order ships on its ops page, corrects the address (the customer's page shows the new one, the
ops timeline the old one), records the parcel and opens its packing slip (a PDF), and the board
card shows the garment's colour."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from production.lifecycle import EventSource, OrderState, ProductionStatus, walk_from_payment
from production.pricing import SizeQuantity
from production.services.catalogue import ColorSpec, PlacementSpec, upsert_catalogue
from production.services.orders import create_draft_order, submit_paid_order, update_order
from tests.browser_support import (  # noqa: F401 — pytest fixtures
    browser_type_launch_args,
    log_in,
    plain_http_live_server,
)
from tests.production.test_layout_browser import OVERFLOW

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("plain_http_live_server"),
]

ADA = {
    "name": "Ada Lovelace",
    "address1": "19749 Dearborn St",
    "city": "Chatsworth",
    "stateCode": "CA",
    "countryCode": "US",
    "zip": "91311",
}


@pytest.fixture
def ready_black_tee(garment, customer, operator, settings):
    """A paid order of 2 black tees shipping to Ada, walked to Ready."""
    settings.SHIPPING_COUNTRIES = ["US", "GB"]
    upsert_catalogue(
        garment,
        colors=[
            ColorSpec("White", "#ffffff", default=True),
            ColorSpec("Black", "#111111"),
        ],
        placements=[PlacementSpec("front", Decimal("12"), Decimal("16"))],
    )
    order = create_draft_order(
        owner=customer,
        garment_gid=garment.shopify_gid,
        design_url="https://cdn.example.com/design.png",
        sizes=[SizeQuantity("M", 2, "Black")],
        shipping=ADA,
    )
    submit_paid_order(order=order, amount_total=order.total_amount, currency=order.currency)
    for change in walk_from_payment(OrderState.IN_PRODUCTION, ProductionStatus.READY):
        update_order(order=order, actor=operator, source=EventSource.OPERATOR, **change)
    return order


def fits(page) -> None:
    overflow = page.evaluate(OVERFLOW)
    assert overflow["scroll"] <= overflow["inner"], overflow


@pytest.mark.parametrize("width", [360, 1366])
def test_an_operator_corrects_the_address_ships_and_prints_the_packing_slip(
    live_server, browser, ready_black_tee, width
):
    order = ready_black_tee
    base = live_server.url
    errors: list[str] = []

    def page_for(email: str, next_url: str):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        log_in(page, base, email, next_url=next_url)
        return page

    ops = page_for("operator@example.com", f"/ops/orders/{order.pk}/")

    # Where it ships, and what: the address (the country by name) and the line's colour.
    ship_to = ops.locator("#ship-to-address")
    expect(ship_to).to_have_text(
        "Ada Lovelace, 19749 Dearborn St, Chatsworth CA 91311, United States"
    )
    expect(ops.locator("td.line-color")).to_have_text("Black")
    fits(ops)

    # The correction: a new street, town and ZIP; the page shows it, the timeline the old one.
    ops.get_by_text("Correct the address").click()
    form = ops.locator("#address-form")
    form.get_by_label("Address line 1").fill("1 Infinite Loop")
    form.get_by_label("City").fill("Cupertino")
    form.get_by_label("Postal code").fill("95014")
    expect(form.get_by_label("Country")).to_have_value("US")
    form.get_by_label("Note (on the timeline)").fill("Customer phoned")
    fits(ops)
    form.get_by_role("button", name=re.compile("Save the address")).click()
    expect(ship_to).to_have_text("Ada Lovelace, 1 Infinite Loop, Cupertino CA 95014, United States")
    timeline = ops.locator("#timeline")
    expect(timeline).to_contain_text("Delivery address corrected: Customer phoned")
    expect(timeline.locator(".address-was")).to_have_text(
        "(was: Ada Lovelace, 19749 Dearborn St, Chatsworth CA 91311, United States)"
    )

    # The customer's own page shows where it now goes.
    customer = page_for("customer@example.com", f"/orders/{order.pk}/")
    customer_ship_to = customer.locator("#ship-to")
    for text in ("1 Infinite Loop", "Cupertino, CA 95014", "United States"):
        expect(customer_ship_to).to_contain_text(text)
    expect(customer_ship_to).not_to_contain_text("Dearborn")
    fits(customer)

    # The board card says which colour to load (before the parcel leaves: open orders only).
    board = ops.context.new_page()
    board.goto(f"{base}/ops/board/")
    card = board.locator(f'[data-reference="{order.reference}"]')
    expect(card.locator(".card-colors")).to_contain_text("Black")
    assert card.locator('.card-colors circle[fill="#111111"]').count() == 1
    card.scroll_into_view_if_needed()
    expect(card.locator(".card-colors")).to_be_visible()

    # The parcel leaves; its packing slip is a PDF.
    shipment = ops.locator("#shipment-form")
    expect(shipment.locator("#ships-to")).to_have_text("to Cupertino, United States")
    shipment.get_by_label("Carrier", exact=True).select_option("ups")
    shipment.get_by_label("Tracking number", exact=True).fill("1Z999AA10123456784")
    shipment.get_by_role("button", name="Record shipment").click()
    slip = ops.locator("a.packing-slip")
    expect(slip).to_have_count(1)
    answer = ops.context.request.get(base + slip.get_attribute("href"))
    assert answer.status == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.body().startswith(b"%PDF-")

    assert errors == []
