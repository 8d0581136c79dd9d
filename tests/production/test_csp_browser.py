"""Every page works under the Content-Security-Policy: a real browser, no violation reported.

One daphne process (HTTP and sockets) with DEBUG on, so the local checkout simulator is part of
the walk: customer pages, the order form, checkout, the live order page and its socket, the ops
list and order page with their scripts, the Django admin and the Swagger UI.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser_support import browser_type_launch_args, fill_ship_to  # noqa: F401
from tests.realtime_support import prepare_database, run_json, server_env, serving

pytestmark = pytest.mark.browser

COLLECT_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const what = e.blockedURI || "inline";
  window.__csp.push(`${e.violatedDirective} blocked ${what} on ${location.pathname}`);
});
"""

ADMIN_SEED = """
import django, json
django.setup()
from tests.factories import UserFactory
from tests.realtime_support import session_key_for
admin = UserFactory(email="csp-admin@example.com", is_staff=True, is_superuser=True)
print(json.dumps({"admin_session": session_key_for(admin)}))
"""


@pytest.fixture
def debug_server(tmp_path):
    # No artwork worker runs here: a running check would hold the payment on the order page
    # (tests/artwork/test_checkout_hold_browser.py walks that), and this walk goes on to checkout.
    env = server_env(
        f"sqlite:///{tmp_path / 'csp.sqlite3'}", DEBUG="true", PREFLIGHT_PENDING_HOLD="0"
    )
    seed = prepare_database(env)
    seed.update(run_json(env, ADMIN_SEED))
    with serving(env) as server:
        yield server, seed


def test_every_page_works_under_the_content_security_policy(browser, debug_server):
    server, seed = debug_server
    base = server.url
    problems: list[str] = []

    def visit_as(session_key: str):
        context = browser.new_context()
        context.add_cookies([{"name": "sessionid", "value": session_key, "url": base}])
        context.add_init_script(COLLECT_VIOLATIONS)
        page = context.new_page()
        page.on(
            "console",
            lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None,
        )
        page.on("pageerror", lambda error: problems.append(str(error)))
        return page

    def check(page, path: str) -> None:
        response = page.goto(f"{base}{path}")
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        page.wait_for_load_state("networkidle")
        problems.extend(page.evaluate("window.__csp"))

    customer = visit_as(seed["customer_session"])
    for path in ("/", "/orders/", "/orders/new/"):
        check(customer, path)

    # The live order page: its socket connects under connect-src.
    check(customer, f"/orders/{seed['order_id']}/")
    expect(customer.locator("#live-status")).to_have_text("Live")
    problems.extend(customer.evaluate("window.__csp"))

    # The order form posts, the checkout simulator pays, the order page follows.
    check(customer, "/orders/new/")
    customer.locator('input[name="garment"]').first.check()
    customer.locator('input[name^="qty_"]').first.fill("2")
    customer.fill("#id_design_url", "https://cdn.example.com/design.png")
    fill_ship_to(customer)
    customer.get_by_role("button", name="Continue to payment").click()
    customer.wait_for_url("**/payments/checkout/**")
    problems.extend(customer.evaluate("window.__csp"))
    customer.get_by_role("button", name="Pay").click()
    customer.wait_for_url("**/orders/*/**")
    expect(customer.locator("#order-stage")).to_have_text(
        "Paid — the shop is checking your artwork"
    )
    problems.extend(customer.evaluate("window.__csp"))

    # Swagger UI: its start-up script is a file, and it renders the API's operations.
    check(customer, "/api/docs/")
    expect(customer.locator(".opblock").first).to_be_visible()
    assert customer.locator(".opblock").count() >= 4
    problems.extend(customer.evaluate("window.__csp"))

    operator = visit_as(seed["operator_session"])
    check(operator, "/ops/orders")
    expect(operator.locator("#live-status")).to_have_text("Live")
    check(operator, f"/ops/orders/{seed['order_id']}/")
    problems.extend(operator.evaluate("window.__csp"))

    admin = visit_as(seed["admin_session"])
    for path in (
        "/admin/",
        "/admin/production/productionorder/",
        f"/admin/production/productionorder/{seed['order_id']}/change/",
        "/admin/auth/user/add/",
        "/admin/axes/accessattempt/",
    ):
        check(admin, path)

    assert problems == []
