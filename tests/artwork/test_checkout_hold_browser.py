"""In a real browser, on a phone and a desktop: a customer whose artwork is still being checked
lands on their order page, which says "Checking your artwork…" and offers no payment; when the
verdict arrives, "Continue to payment" is there without a reload (decision 0069)."""

import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.browser_support import browser_type_launch_args  # noqa: F401
from tests.realtime_support import (
    BASE_DIR,
    prepare_database,
    run_json,
    server_env,
    serving,
)

pytestmark = pytest.mark.browser

VIEWPORTS = {"phone": (390, 844), "desktop": (1366, 900)}

A_DRAFT_BEING_CHECKED = """
import django, json
django.setup()
from artwork.tasks import request_preflight
from production.models import OrderDesign, ProductionOrder
from tests.factories import make_order
paid = ProductionOrder.objects.get(pk="{order_id}")
order = make_order(owner=paid.owner, garment=paid.garment)
OrderDesign.objects.filter(order=order).update(url="/static/demo/design-3.svg")
request_preflight(order)
print(json.dumps(str(order.pk)))
"""


@pytest.fixture
def held_server(tmp_path):
    # A long hold: the page must change because the verdict came, not because the hold ended.
    env = server_env(f"sqlite:///{tmp_path / 'browser.sqlite3'}", PREFLIGHT_PENDING_HOLD="600")
    seed = prepare_database(env, static=True)
    with serving(env) as server:
        yield server, seed, env


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_the_verdict_offers_the_payment_without_a_reload(page, held_server, viewport):
    server, seed, env = held_server
    width, height = VIEWPORTS[viewport]
    page.set_viewport_size({"width": width, "height": height})
    order_id = run_json(env, A_DRAFT_BEING_CHECKED.format(order_id=seed["order_id"]))
    page.context.add_cookies(
        [{"name": "sessionid", "value": seed["customer_session"], "url": server.url}]
    )
    page.goto(f"{server.url}/orders/{order_id}/")
    waits = page.locator("#pay-waits")
    expect(waits).to_have_text(
        "Checking your artwork… payment opens here as soon as the check is done."
    )
    expect(waits).to_be_in_viewport()  # the first thing the customer sees, phone included
    expect(page.get_by_role("button", name="Continue to payment")).to_be_hidden()
    page.evaluate("window.__sameDocument = true")

    subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--queue-name", "artwork"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
    )

    pay = page.get_by_role("button", name="Continue to payment")
    expect(pay).to_be_visible(timeout=10_000)
    expect(waits).to_be_hidden()
    expect(page.locator("#artwork-check h2")).to_contain_text("Ready to print")
    assert page.evaluate("window.__sameDocument") is True
    box = pay.bounding_box()
    assert box is not None and box["x"] + box["width"] <= width and box["height"] >= 24
    pay.click()
    expect(page).to_have_url(
        f"{server.url}/payments/checkout/cs_local_{order_id.replace('-', '')}/"
    )
