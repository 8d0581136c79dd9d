"""In a real browser: an operator refunds part of a paid order and then cancels it; the customer's
open order page shows each refund request without a reload."""

import pytest
from playwright.sync_api import expect

from tests.browser_support import browser_type_launch_args  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def paid_server(tmp_path):
    """daphne with an approved order whose Stripe payment ($90.00) is on record."""
    from tests.realtime_support import prepare_database, run_json, server_env, serving

    env = server_env(f"sqlite:///{tmp_path / 'browser.sqlite3'}")
    seed = prepare_database(env, static=True)
    run_json(
        env,
        "import django, json; django.setup()\n"
        "from payments.models import Payment\n"
        "from production.models import ProductionOrder\n"
        f"order = ProductionOrder.objects.get(pk={seed['order_id']!r})\n"
        "Payment.objects.create(order=order, checkout_session_id='cs_browser', "
        "payment_intent_id='pi_browser', amount=order.total_amount, currency=order.currency)\n"
        "print(json.dumps(order.total_amount))",
    )
    with serving(env) as server:
        yield server, seed


def test_an_operators_refunds_reach_the_customers_open_page(page, paid_server):
    server, seed = paid_server
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.context.add_cookies(
        [{"name": "sessionid", "value": seed["customer_session"], "url": server.url}]
    )
    page.goto(f"{server.url}/orders/{seed['order_id']}/")
    page.evaluate("window.__sameDocument = true")  # a reload would drop this marker
    operator_context = page.context.browser.new_context()
    operator_context.add_cookies(
        [{"name": "sessionid", "value": seed["operator_session"], "url": server.url}]
    )
    ops = operator_context.new_page()
    ops.on("pageerror", lambda error: errors.append(str(error)))
    ops.goto(f"{server.url}/ops/orders/{seed['order_id']}/")
    # The seeded order: 2 M + 3 L at 18.00.
    expect(ops.locator("#refund-totals")).to_contain_text("Refundable")
    expect(ops.locator("#refund-totals")).to_contain_text("$90.00")

    ops.fill("#refund-amount", "12.50")
    ops.fill("#refund-note", "one shirt misprinted")
    ops.get_by_role("button", name="Refund…", exact=True).click()
    # Money leaves for good: the amount is confirmed first.
    expect(ops.locator("h1")).to_have_text(f"Refund $12.50 to the customer of {seed['reference']}?")
    ops.get_by_role("button", name="Yes, refund $12.50").click()

    expect(ops.locator(".messages")).to_contain_text(
        "Refund of $12.50 requested: Stripe's answer shows below within a minute."
    )
    expect(ops.locator("#refund-list")).to_contain_text("Partial refund by an operator")
    expect(ops.locator("#refund-totals")).to_contain_text("$77.50")
    expect(page.locator("body")).to_contain_text("Refund of $12.50 requested")

    ops.get_by_role("button", name="Cancel order…").click()
    expect(ops.locator("#cancel-refund")).to_have_text(
        "$77.50 paid and not yet refunded goes back to the customer's card through Stripe."
    )
    ops.get_by_role("button", name="Yes, cancel order").click()

    expect(ops.locator("#refund-list tbody tr")).to_have_count(2)
    expect(page.locator("body")).to_contain_text("Refund of $77.50 requested")
    assert page.evaluate("window.__sameDocument") is True
    assert errors == []
    operator_context.close()
