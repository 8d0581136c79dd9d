"""The live order page shows the server's words from each frame (statusText, etaText, holdText):
a hold and its release, as the server-rendered page would read after a reload."""

import pytest
from playwright.sync_api import expect

from tests.browser_support import asgi_server, browser_type_launch_args  # noqa: F401
from tests.realtime_support import api_patch

pytestmark = pytest.mark.browser


def test_a_hold_and_its_release_read_as_the_server_words_them(page, asgi_server):  # noqa: F811
    server, seed = asgi_server
    page.context.add_cookies(
        [{"name": "sessionid", "value": seed["customer_session"], "url": server.url}]
    )
    page.goto(f"{server.url}/orders/{seed['order_id']}/")
    expect(page.locator("#live-status")).to_have_text("Live")
    stage, eta = page.locator("#order-stage"), page.locator("#order-eta")
    banner = page.locator("#hold-banner")
    before = (stage.text_content(), eta.text_content())
    page.evaluate("window.__sameDocument = true")  # a reload would drop this marker

    api_patch(server.url, seed["order_id"], seed["operator_token"], {"priority": "hold"})
    expect(banner).to_have_text("On hold: the shop paused this order and will be in touch.")
    expect(eta).to_have_text("A new date once the shop resumes the order")

    api_patch(server.url, seed["order_id"], seed["operator_token"], {"priority": "standard"})
    expect(banner).to_be_hidden()
    expect(eta).to_have_text(before[1])
    expect(stage).to_have_text(before[0])
    assert page.evaluate("window.__sameDocument") is True
    live = (stage.text_content(), eta.text_content(), banner.is_hidden())
    page.reload()
    assert (stage.text_content(), eta.text_content(), banner.is_hidden()) == live
