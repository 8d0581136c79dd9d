"""The customer's order page updates live in a real browser."""

import pytest
from playwright.sync_api import expect

from tests.browser_support import asgi_server, browser_type_launch_args  # noqa: F401
from tests.realtime_support import api_patch

pytestmark = pytest.mark.browser


def test_progress_and_timeline_follow_an_operator_without_a_reload(page, asgi_server):  # noqa: F811
    server, seed = asgi_server
    page.context.add_cookies(
        [{"name": "sessionid", "value": seed["customer_session"], "url": server.url}]
    )
    page.goto(f"{server.url}/orders/{seed['order_id']}/")
    # Approved: paid, artwork approved, waiting to be printed.
    expect(page.locator("#progress li.current")).to_have_text("Printing")
    expect(page.locator("#order-stage")).to_have_text("Artwork approved — waiting to be printed")
    expect(page.locator("#order-eta")).to_contain_text("Ready by ")
    expect(page.locator("#live-status")).to_have_text("Live")
    # A reload would drop this marker.
    page.evaluate("window.__sameDocument = true")

    api_patch(server.url, seed["order_id"], seed["operator_token"], {"status": "in_production"})

    expect(page.locator("#order-stage")).to_have_text("Printing")
    expect(page.locator("#progress li.done")).to_have_count(2)
    expect(page.locator("#timeline li").first).to_contain_text("Production started")  # newest
    api_patch(
        server.url, seed["order_id"], seed["operator_token"], {"productionStatus": "Finishing"}
    )
    expect(page.locator("#progress li.current")).to_have_text("Finishing")
    expect(page.locator("#progress li.done")).to_have_count(3)
    expect(page.locator("#timeline li").first).to_contain_text(
        "Printing done: the order is being finished"
    )
    assert page.evaluate("window.__sameDocument") is True

    # A hold, pushed: explained in the server's words, and no countdown.
    expect(page.locator("#hold-banner")).to_be_hidden()
    api_patch(server.url, seed["order_id"], seed["operator_token"], {"priority": "hold"})
    expect(page.locator("#hold-banner")).to_have_text(
        "On hold: the shop paused this order and will be in touch."
    )
    expect(page.locator("#order-eta")).to_have_text("A new date once the shop resumes the order")
    expect(page.locator("#timeline li").last).to_contain_text("Order created")  # oldest last
    assert page.evaluate("window.__sameDocument") is True
