"""In a real browser: an operator records a shipment; the customer's open order page shows the
carrier and the tracking link without a reload, and the e-mail is on record. Phone and desktop."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from config.settings import BASE_DIR
from tests.browser_support import browser_type_launch_args  # noqa: F401
from tests.production.test_layout_browser import OVERFLOW
from tests.realtime_support import api_patch, prepare_database, run_json, server_env, serving

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(BASE_DIR) / "test-results" / "screenshots"
UPS = "1Z999AA10123456784"
TRACKING_URL = f"https://www.ups.com/track?tracknum={UPS}"

OUTBOX = """
import django, json
django.setup()
from production.models import OutgoingEmail
print(json.dumps([
    {"kind": e.kind, "to": e.to, "subject": e.subject, "body": e.body}
    for e in OutgoingEmail.objects.filter(kind="shipment_sent")
]))
"""


@pytest.fixture
def shop(tmp_path):
    """daphne (HTTP and sockets) on its own SQLite file, like `asgi_server`, with its settings
    kept for reading the outbox afterwards."""
    env = server_env(f"sqlite:///{tmp_path / 'shipping.sqlite3'}")
    seed = prepare_database(env, static=True)
    with serving(env) as server:
        yield server, seed, env


def fits(page) -> None:
    overflow = page.evaluate(OVERFLOW)
    assert overflow["scroll"] <= overflow["inner"], overflow


@pytest.mark.parametrize(("viewport", "size"), [("phone", (360, 740)), ("desktop", (1366, 900))])
def test_a_recorded_shipment_reaches_the_customers_open_page(browser, shop, viewport, size):
    server, seed, env = shop
    order_id, token = seed["order_id"], seed["operator_token"]
    api_patch(server.url, order_id, token, {"status": "in_production"})
    api_patch(server.url, order_id, token, {"productionStatus": "Finishing"})
    api_patch(server.url, order_id, token, {"productionStatus": "Ready"})

    width, height = size
    errors: list[str] = []

    def context(session: str):
        ctx = browser.new_context(viewport={"width": width, "height": height})
        ctx.add_cookies([{"name": "sessionid", "value": session, "url": server.url}])
        page = ctx.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        return page

    customer = context(seed["customer_session"])
    customer.goto(f"{server.url}/orders/{order_id}/")
    expect(customer.locator("#live-status")).to_have_text("Live")
    expect(customer.locator("#shipment-section")).to_be_hidden()
    customer.evaluate("window.__sameDocument = true")  # a reload would drop this marker

    operator = context(seed["operator_session"])
    operator.goto(f"{server.url}/ops/orders/{order_id}/")
    form = operator.locator("#shipment-form")
    expect(form).to_be_visible()
    fits(operator)
    form.get_by_label("Carrier", exact=True).select_option("ups")
    form.get_by_label("Tracking number", exact=True).fill("1Z 999 AA1 0123 4567 84")
    form.get_by_label("Size L", exact=True).fill("0")  # the 3 × L follow in a later parcel
    form.get_by_role("button", name="Record shipment").click()
    expect(operator.locator(".messages")).to_contain_text("shipment recorded (2 items, UPS")
    expect(operator.locator("#ops-shipped")).to_contain_text("2 of 5 items")
    expect(operator.locator("#shipments .tracking-link")).to_have_attribute("href", TRACKING_URL)

    # The customer's page follows without a reload.
    section = customer.locator("#shipment-section")
    expect(section).to_be_visible()
    expect(section.locator("#shipped-progress")).to_have_text("2 of 5 items shipped")
    expect(customer.locator("#order-stage")).to_have_text("2 of 5 items shipped")
    shipment = section.locator("#shipment-list li")
    expect(shipment).to_have_count(1)
    expect(shipment).to_contain_text("UPS")
    expect(shipment).to_contain_text("2 × M")
    link = shipment.get_by_role("link", name=UPS)
    expect(link).to_have_attribute("href", TRACKING_URL)
    expect(link).to_have_attribute("target", "_blank")
    expect(customer.locator("#timeline")).to_contain_text(
        "2 items shipped by UPS, tracking 1Z999AA10123456784 (2 of 5 items shipped)"
    )
    assert customer.evaluate("window.__sameDocument") is True
    link.scroll_into_view_if_needed()
    fits(customer)
    box = link.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    customer.screenshot(path=str(SCREENSHOTS / f"order-shipped-{viewport}.png"), full_page=True)
    operator.screenshot(path=str(SCREENSHOTS / f"ops-shipping-{viewport}.png"), full_page=True)

    # The e-mail is on record (the outbox, queued for the task worker) with the link.
    [email] = run_json(env, OUTBOX)
    assert email["to"] == seed["customer_email"]
    assert email["subject"] == f"Part of your order {seed['reference']} has shipped"
    assert TRACKING_URL in email["body"]
    assert errors == []
