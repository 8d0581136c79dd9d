"""In a real browser: the operators' list follows changes made elsewhere, without a reload."""

import pytest
from playwright.sync_api import expect

from tests.browser_support import asgi_server, browser_type_launch_args  # noqa: F401
from tests.realtime_support import api_patch

pytestmark = pytest.mark.browser


def test_rows_that_stop_matching_are_marked_and_new_matches_are_announced(
    page,
    asgi_server,  # noqa: F811
):
    server, seed = asgi_server
    page.context.add_cookies(
        [{"name": "sessionid", "value": seed["operator_session"], "url": server.url}]
    )
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    approved_tab = page
    approved_tab.goto(f"{server.url}/ops/orders?status=approved")
    row = approved_tab.locator(f'tr[data-order-id="{seed["order_id"]}"]')
    expect(row).to_be_visible()
    started_tab = page.context.new_page()
    started_tab.goto(f"{server.url}/ops/orders?status=in_production")
    expect(started_tab.locator("tbody")).to_contain_text("No orders match these filters.")
    for tab in (approved_tab, started_tab):
        expect(tab.locator("#live-status")).to_have_text("Live")
        tab.evaluate("window.__sameDocument = true")  # a reload would drop this marker

    def count(tab, state: str):
        return tab.locator(f'.tabs .tab[data-state="{state}"] .count')

    expect(count(approved_tab, "approved")).to_have_text("1")
    expect(count(approved_tab, "in_production")).to_have_text("0")
    expect(approved_tab.locator("#match-count")).to_have_text("1 matching")

    api_patch(server.url, seed["order_id"], seed["operator_token"], {"status": "in_production"})

    expect(row.locator('[data-field="status"]')).to_have_text("Printing")
    expect(row).to_have_class("stale updated")
    expect(row).to_contain_text("No longer matches these filters")
    notice = started_tab.locator("#ops-elsewhere")
    expect(notice).to_contain_text("1 more order may match these filters now.")
    expect(notice.get_by_role("link", name="Show the latest list")).to_be_visible()
    # The counts follow on both pages, without a reload.
    for tab in (approved_tab, started_tab):
        expect(count(tab, "approved")).to_have_text("0")
        expect(count(tab, "in_production")).to_have_text("1")
    expect(approved_tab.locator("#match-count")).to_have_text("0 matching")
    expect(started_tab.locator("#match-count")).to_have_text("1 matching")

    started_tab.get_by_role("link", name="Show the latest list").click()
    expect(started_tab.locator(f'tr[data-order-id="{seed["order_id"]}"]')).to_be_visible()
    assert approved_tab.evaluate("window.__sameDocument") is True
    assert errors == []
