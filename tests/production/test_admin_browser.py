"""Support's admin in a real browser: at 1366 px the order list shows every column, Total and
Created included, without scrolling its table; the order page (money, line items, the history as
sentences) never scrolls sideways at 1366 px or 360 px. Screenshots: admin-orders-*,
admin-order-*."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from production.lifecycle import OrderState
from tests.browser_support import (  # noqa: F401 — pytest fixtures
    browser_type_launch_args,
    plain_http_live_server,
)
from tests.payments.refund_support import paid_order

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("plain_http_live_server"),
]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"
COLUMNS = """() => {
  const box = document.querySelector('#changelist .results').getBoundingClientRect();
  return [...document.querySelectorAll('#result_list thead th')].map((th) => {
    const r = th.getBoundingClientRect();
    return [th.innerText.trim().toLowerCase(), r.left >= box.left - 1 && r.right <= box.right + 1];
  });
}"""


def test_support_reads_the_order_list_and_an_order_without_scrolling_sideways(
    page, live_server, settings, customer, django_user_model
):
    settings.SITE_URL = "https://shop.example.com"
    order = paid_order(owner=customer, state=OrderState.APPROVED)
    django_user_model.objects.create_superuser("support@example.com", "support@example.com", "pw")
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "support@example.com")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/admin/production/productionorder/")
    columns = dict(page.evaluate(COLUMNS))
    assert columns["total"] and columns["created at"], columns
    assert all(columns.values()), columns  # the table fits its box: nothing hidden to the right
    expect(page.locator("#result_list")).to_contain_text("$90.00")
    page.screenshot(path=str(SCREENSHOTS / "admin-orders-desktop.png"), full_page=True)

    for label, width in (("desktop", 1366), ("phone", 360)):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/admin/production/productionorder/{order.pk}/change/")
        expect(page.locator("body")).to_contain_text("Total:")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the order page scrolls sideways by {overflow}px at {width}px"
        page.screenshot(path=str(SCREENSHOTS / f"admin-order-{label}.png"), full_page=True)
    expect(page.locator("body")).to_contain_text("$90.00")
    expect(page.locator("body")).not_to_contain_text('{"')
