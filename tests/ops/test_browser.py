"""In a real browser: an operator filters to rush orders and moves two of them to approved."""

import re

import pytest
from playwright.sync_api import expect

from production.lifecycle import OrderState, Priority
from production.models import ProductionOrder
from tests.browser_support import (  # noqa: F401 — pytest fixtures
    browser_type_launch_args,
    log_in,
    plain_http_live_server,
)
from tests.factories import make_order

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("plain_http_live_server"),
]


def test_operator_moves_two_rush_orders_to_approved(
    live_server, page, garment, operator, monkeypatch
):
    # This thread runs Playwright's event loop, where the broadcast's async_to_sync cannot run;
    # live updates are not what this test is about.
    monkeypatch.setattr("production.broadcasts.order_changed", lambda order, events: None)
    rush = [
        make_order(
            garment=garment, priority=Priority.RUSH, state=OrderState.SUBMITTED, operator=operator
        )
        for _ in range(3)
    ]
    standard = make_order(garment=garment, state=OrderState.SUBMITTED, operator=operator)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    base = live_server.url

    log_in(page, base, operator.email, next_url="/ops/orders")
    expect(page.locator("tbody tr")).to_have_count(4)

    page.get_by_label("Priority", exact=True).select_option("rush")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/ops/orders\?.*priority=rush"))
    expect(page.locator("tbody tr")).to_have_count(3)
    expect(page.locator("tbody tr.rush")).to_have_count(3)

    chosen, left = rush[:2], rush[2]
    for order in chosen:
        page.get_by_label(f"Select {order.reference}").check()
    page.get_by_label("Set").select_option("status:approved")
    page.get_by_role("button", name="Apply to selected").click()

    expect(page.get_by_text("Updated 2 orders: order state → Approved.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/ops/orders\?.*priority=rush"))
    for order in chosen:
        state = page.locator(f'tr[data-order-id="{order.id}"] [data-field="status"]')
        expect(state).to_have_text("Approved — to print")
    other = page.locator(f'tr[data-order-id="{left.id}"] [data-field="status"]')
    expect(other).to_have_text("Paid — check the artwork")

    states = {o.reference: o.status for o in ProductionOrder.objects.all()}
    assert [states[o.reference] for o in rush] == ["approved", "approved", "submitted"]
    assert states[standard.reference] == "submitted"
    # Without a websocket server the live-update script stays quiet.
    assert errors == []
