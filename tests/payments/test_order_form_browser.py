"""In a real browser: the order form swaps sizes per garment, prices live with the server's
pricing, and that price is the checkout total; the customer pages fit a 360 px screen.

Writes screenshots of the home page, the order form and the order page at 1366×900 and 390×844
to test-results/screenshots/ (gitignored)."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from production.models import ProductionOrder
from tests.browser_support import (  # noqa: F401 — pytest fixtures
    browser_type_launch_args,
    fill_ship_to,
    log_in,
    plain_http_live_server,
)
from tests.factories import GarmentFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("plain_http_live_server"),
]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}


def screenshots(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)


def fits(page, width: int = 360) -> None:
    """No horizontal scrolling on a screen `width` px wide."""
    page.set_viewport_size({"width": width, "height": 800})
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than a {width}px screen"


def size_labels(page) -> list[str]:
    return page.locator("#size-fields label").all_inner_texts()


def test_order_form_swaps_sizes_prices_live_and_the_price_is_the_checkout_total(
    live_server, page, settings, garment, customer
):
    settings.DEBUG = True  # the checkout simulator serves only with DEBUG on
    settings.STRIPE_SECRET_KEY = ""
    settings.SITE_URL = ""
    GarmentFactory(
        shopify_gid="gid://shopify/Product/345678",
        name="Tote Bag",
        sizes=["One Size"],
        base_price=1200,
        size_upcharges={},
    )
    base = live_server.url
    log_in(page, base, "customer@example.com")

    # Home: a card starts an order for its garment.
    expect(page.locator(".garment-card").first).to_contain_text("from $18.00")
    fits(page)
    screenshots(page, "home")
    page.get_by_role("link", name=re.compile("Tote Bag")).click()
    expect(page).to_have_url(re.compile(r"/orders/new/\?garment="))
    expect(page.locator("#id_garment_1")).to_be_checked()
    assert size_labels(page) == ["One Size"]
    expect(page.locator("#update-price")).to_be_hidden()  # the price updates by itself
    page.evaluate("window.__sameDocument = true")

    page.get_by_label("One Size", exact=True).fill("3")
    expect(page.locator("#price-total")).to_have_text("$36.00")

    # Switching the garment swaps the sizes in place, and the price follows.
    page.get_by_label(re.compile(r"^Classic Tee — \$18\.00 each")).check()
    expect(page.locator("#size-fields label")).to_have_text(["S", "M", "L", "XL", "XXL"])
    expect(page.locator("#price-total")).to_have_text("—")
    page.get_by_label("M", exact=True).fill("2")
    page.get_by_label("XXL", exact=True).fill("3")
    expect(page.locator("#price-total")).to_have_text("$96.00")
    page.get_by_label("Rush", exact=False).check()
    expect(page.locator("#price-total")).to_have_text("$120.00")
    shown = page.locator("#price-total").inner_text()
    assert page.evaluate("window.__sameDocument") is True
    page.get_by_label("Design URL").fill("https://cdn.example.com/design.png")
    fill_ship_to(page)
    fits(page)
    screenshots(page, "order-form")

    # Submitting: the button says so and cannot be pressed again. (This first submission is
    # stopped in the page, so the button's state can be seen before the page leaves.)
    page.evaluate(
        """() => document.getElementById("order-form").addEventListener("submit", (event) => {
            if (!window.__submitted) { window.__submitted = true; event.preventDefault(); }
        })"""
    )
    page.get_by_role("button", name="Continue to payment").click()
    expect(page.locator("#submit-order")).to_be_disabled()
    expect(page.locator("#submit-order")).to_have_text("Starting checkout…")
    page.evaluate('() => document.getElementById("order-form").submit()')

    expect(page).to_have_url(re.compile(r"/payments/checkout/cs_local_[0-9a-f]{32}/$"))
    expect(page.locator("#checkout-total")).to_have_text(shown)
    order = ProductionOrder.objects.get()
    assert [(i.size, i.quantity) for i in order.line_items.order_by("size")] == [
        ("M", 2),
        ("XXL", 3),
    ]
    page.get_by_role("button", name=f"Pay {shown}").click()

    expect(page).to_have_url(re.compile(r"/orders/[0-9a-f-]{36}/\?checkout=success$"))
    expect(page.locator("#order-stage")).to_have_text("Paid — the shop is checking your artwork")
    expect(page.locator("#checkout-thanks")).to_have_text("Thank you — your payment is confirmed.")
    fits(page)
    screenshots(page, "order-page")

    page.goto(f"{base}/orders/")
    expect(page.locator("table.orders")).to_contain_text("Paid — the shop is checking your artwork")
    fits(page)


def test_without_javascript_the_form_prices_and_orders(live_server, browser, settings, garment):
    from tests.factories import UserFactory

    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""
    settings.SITE_URL = ""
    UserFactory(email="nojs@example.com")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    base = live_server.url
    log_in(page, base, "nojs@example.com", next_url="/orders/new/")
    page.get_by_label("M", exact=True).fill("2")
    page.get_by_label("L", exact=True).fill("3")
    page.get_by_role("button", name="Update price").click()
    expect(page.locator("#price-total")).to_have_text("$90.00")
    page.get_by_label("Design URL").fill("https://cdn.example.com/design.png")
    fill_ship_to(page)
    page.get_by_role("button", name="Continue to payment").click()
    expect(page.locator("#checkout-total")).to_have_text("$90.00")
    context.close()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_a_dark_colour_its_sizes_and_a_back_design_are_priced_and_ordered(
    live_server, page, settings, garment, customer, viewport
):
    from decimal import Decimal

    from production.models import Variant
    from production.services.catalogue import ColorSpec, PlacementSpec, upsert_catalogue

    settings.DEBUG = True  # the checkout simulator serves only with DEBUG on
    settings.STRIPE_SECRET_KEY = ""
    settings.SITE_URL = ""
    upsert_catalogue(
        garment,
        colors=[
            ColorSpec("White", "#ffffff", default=True),
            ColorSpec("Black", "#111111", sizes=["M", "L", "XL", "XXL"]),
        ],
        placements=[
            PlacementSpec("front", Decimal("12"), Decimal("16")),
            PlacementSpec("back", Decimal("12"), Decimal("16"), unit_amount=400),
        ],
    )
    Variant.objects.filter(garment=garment, color__name="Black").update(upcharge=300)
    Variant.objects.filter(garment=garment, color__name="Black", size="XL").update(in_stock=False)
    width, height = {"phone": (360, 740), "desktop": (1366, 900)}[viewport]
    page.set_viewport_size({"width": width, "height": height})
    log_in(page, live_server.url, "customer@example.com", next_url="/orders/new/")

    expect(page.locator("#size-fields label")).to_have_text(["S", "M", "L", "XL", "XXL"])
    page.get_by_label("M", exact=True).fill("2")
    expect(page.locator("#price-total")).to_have_text("$36.00")

    # The black swatch, chosen from the keyboard: only the sizes black has in stock remain.
    page.get_by_label("White", exact=True).focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_label("Black", exact=True)).to_be_checked()
    expect(page.locator("#size-fields label")).to_have_text(["M", "L", "XXL"])
    expect(page.get_by_label("M", exact=True)).to_have_value("2")  # kept across colours
    expect(page.locator("#price-total")).to_have_text("$42.00")

    back = page.get_by_label("Back — 12 × 16 in, +$4.00 per item")
    back.fill("https://cdn.example.com/back.png")
    expect(page.locator("#price-total")).to_have_text("$50.00")
    page.get_by_label("Design URL", exact=True).fill("https://cdn.example.com/front.png")
    fill_ship_to(page)
    fits(page)

    page.get_by_role("button", name="Continue to payment").click()
    expect(page).to_have_url(re.compile(r"/payments/checkout/cs_local_[0-9a-f]{32}/$"))
    expect(page.locator("#checkout-total")).to_have_text("$50.00")
    page.get_by_role("button", name="Pay $50.00").click()

    expect(page).to_have_url(re.compile(r"/orders/[0-9a-f-]{36}/\?checkout=success$"))
    expect(page.locator("table.items tbody td[data-label='Colour']")).to_have_text("Black")
    order = ProductionOrder.objects.get()
    assert [d.placement.code for d in order.designs.all()] == ["front", "back"]
    fits(page)


@pytest.mark.parametrize("width", [360, 1366])
def test_shipping_address_is_checked_next_to_its_field_paid_and_shown_on_the_order(
    live_server, page, settings, garment, customer, width
):
    settings.DEBUG = True  # the checkout simulator serves only with DEBUG on
    settings.STRIPE_SECRET_KEY = ""
    settings.SITE_URL = ""
    settings.SHIPPING_RATES = {"US": 500}
    base = live_server.url
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, base, "customer@example.com", next_url="/orders/new/")

    page.get_by_label("M", exact=True).fill("2")
    page.get_by_label("Design URL").fill("https://cdn.example.com/design.png")
    page.get_by_label("Shipping", exact=True).check()
    page.get_by_label("Full name").fill("Ada Lovelace")
    page.get_by_label("Address line 1").fill("1600 Amphitheatre Pkwy")
    page.get_by_label("City").fill("Mountain View")
    page.get_by_label("State, province or region").fill("CA")
    page.get_by_label("Country").select_option("US")
    page.get_by_label("Postal code").fill("9404")  # four digits: not a US ZIP
    expect(page.locator("#price-total")).to_have_text("$41.00")  # 2 × 18.00 + 5.00 shipping
    expect(page.locator("#price-detail")).to_contain_text("shipping +$5.00 included")
    page.get_by_role("button", name="Continue to payment").click()

    # Refused next to the postal code, in the validator's words; what was typed is kept.
    zip_field = page.locator(".address-field", has=page.locator("#id_ship_zip"))
    expect(zip_field).to_contain_text("Not a valid postal code for US")
    expect(page.get_by_label("City")).to_have_value("Mountain View")
    assert not ProductionOrder.objects.exists()
    page.set_viewport_size({"width": width, "height": 900})
    if width == 360:
        fits(page)

    page.get_by_label("Postal code").fill("94043")
    page.get_by_role("button", name="Continue to payment").click()

    expect(page).to_have_url(re.compile(r"/payments/checkout/cs_local_[0-9a-f]{32}/$"))
    expect(page.locator("#checkout-shipping")).to_contain_text("$5.00")
    expect(page.locator("#checkout-total")).to_have_text("$41.00")
    expect(page.locator("#ship-to")).to_contain_text("1600 Amphitheatre Pkwy")
    page.get_by_role("button", name="Pay $41.00").click()

    expect(page).to_have_url(re.compile(r"/orders/[0-9a-f-]{36}/\?checkout=success$"))
    ship_to = page.locator("#ship-to")
    for text in ("Ada Lovelace", "1600 Amphitheatre Pkwy", "Mountain View, CA 94043"):
        expect(ship_to).to_contain_text(text)
    for text in ("United States",):
        expect(ship_to).to_contain_text(text)
    if width == 360:
        fits(page)
    order = ProductionOrder.objects.get()
    assert (order.delivery, order.shipping_amount, order.total_amount) == ("shipping", 500, 4100)
