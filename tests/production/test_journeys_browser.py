"""Whole journeys in real browsers at 360 px and 1366 px (issue 26), each page checked as it is
reached: it does not scroll sideways, logs no console error, and axe-core finds no serious or
critical violation (colour contrast included).

- The customer watches their order from approved to shipped while an operator, in a second
  browser context, moves it on the ops page: the status line, the progress bar and the estimate
  say what is true at every step.
- An operator sends a proof, the customer asks for changes, the operator sees the request first,
  refunds part of the payment (confirmed, a typo kept next to the field) and cancels the order;
  the customer's page says what happened to the money.

Screenshots of each journey's key pages go to the test's tmp directory, or to
`.cache/screenshots/journeys/` when JOURNEY_SCREENSHOTS=1.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser_support import browser_type_launch_args  # noqa: F401
from tests.factories import png_bytes
from tests.production.test_layout_browser import OVERFLOW, axe_source  # noqa: F401
from tests.realtime_support import BASE_DIR, prepare_database, run_json, server_env, serving

pytestmark = pytest.mark.browser

VIEWPORTS = {"phone": (360, 740), "desktop": (1366, 900)}

SEED_PAID_SUBMITTED = """
import django, json
django.setup()
from django.contrib.auth import get_user_model
from payments.models import Payment
from production.lifecycle import OrderState
from tests.factories import GarmentFactory, make_order
customer = get_user_model().objects.get(email="live-customer@example.com")
order = make_order(owner=customer, garment=GarmentFactory(name="Proof Tee"),
                   state=OrderState.SUBMITTED)
Payment.objects.create(order=order, checkout_session_id="cs_journey",
                       payment_intent_id="pi_journey", amount=order.total_amount,
                       currency=order.currency)
print(json.dumps({"paid_order_id": str(order.pk), "paid_reference": order.reference}))
"""

AXE_RUN = """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.slice(0, 3)
      .map((n) => n.target.join(" ")).join("; ")})`)"""


@pytest.fixture
def shop(tmp_path):
    """daphne (HTTP and sockets) with the live seed (an approved order) and a paid, submitted
    order with its Stripe payment on record."""
    env = server_env(
        f"sqlite:///{tmp_path / 'journeys.sqlite3'}", MEDIA_ROOT=str(tmp_path / "media")
    )
    seed = prepare_database(env, static=True)
    seed |= run_json(env, SEED_PAID_SUBMITTED)
    with serving(env) as server:
        yield server, seed


@pytest.fixture
def shots(tmp_path) -> Path:
    if os.environ.get("JOURNEY_SCREENSHOTS") == "1":
        folder = Path(BASE_DIR) / ".cache" / "screenshots" / "journeys"
    else:
        folder = tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def unreachable_design(url: str) -> bool:
    """The seed's design lives at cdn.example.com, which no test reaches: its picture (and the
    ops page's copy of it) cannot load, which says nothing about these pages."""
    return url.startswith(DESIGN_HOST) or url.rstrip("/").endswith("/design")


DESIGN_HOST = "https://cdn.example.com/"


class Journey:
    """The browser contexts of one journey at one size, and what went wrong on their pages."""

    def __init__(self, browser, server, viewport: str, shots: Path, axe: str) -> None:
        self.browser, self.server, self.viewport, self.shots, self.axe = (
            browser,
            server,
            viewport,
            shots,
            axe,
        )
        self.width, self.height = VIEWPORTS[viewport]
        self.problems: list[str] = []
        self.auditing = False
        self.contexts = []
        self.refusal_expected = ""  # the address of a form answered 400 on purpose (a typo)

    def page(self, session: str):
        context = self.browser.new_context(viewport={"width": self.width, "height": self.height})
        context.add_cookies([{"name": "sessionid", "value": session, "url": self.server.url}])
        self.contexts.append(context)
        page = context.new_page()

        def on_console(message) -> None:
            # axe's own probes trip the page's CSP (inline styles): not the page's errors. A
            # resource that failed is judged by its address below.
            if message.type != "error" or self.auditing:
                return
            if not message.text.startswith("Failed to load resource"):
                self.problems.append(f"console error on {page.url}: {message.text}")

        def on_response(response) -> None:
            expected = self.refusal_expected and response.url.endswith(self.refusal_expected)
            if response.status >= 400 and not unreachable_design(response.url) and not expected:
                self.problems.append(f"HTTP {response.status}: {response.url}")

        def on_failed(request) -> None:
            if not unreachable_design(request.url):
                self.problems.append(f"request failed: {request.url} ({request.failure})")

        page.on("console", on_console)
        page.on("response", on_response)
        page.on("requestfailed", on_failed)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        return page

    def check(self, page, name: str) -> None:
        """The page as it is now: no sideways scroll, no serious axe violation; a screenshot."""
        page.wait_for_load_state("networkidle")
        layout = page.evaluate(OVERFLOW)
        if layout["scroll"] > layout["inner"]:
            self.problems.append(
                f"{name}: scrolls sideways ({layout['scroll']} px in {layout['inner']} px:"
                f" {', '.join(layout['wide'])})"
            )
        self.auditing = True
        try:
            page.evaluate(self.axe)
            self.problems.extend(f"{name}: axe {v}" for v in page.evaluate(AXE_RUN))
        finally:
            self.auditing = False
        page.screenshot(path=str(self.shots / f"{name}-{self.viewport}.png"), full_page=True)

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_customer_watches_their_order_from_approved_to_shipped(
    browser,
    shop,
    shots,
    axe_source,  # noqa: F811
    viewport,
):
    server, seed = shop
    journey = Journey(browser, server, viewport, shots, axe_source)
    order_url = f"{server.url}/orders/{seed['order_id']}/"
    try:
        customer = journey.page(seed["customer_session"])
        customer.goto(order_url)
        expect(customer.locator("#live-status")).to_have_text("Live")
        stage, current = customer.locator("#order-stage"), customer.locator("#progress li.current")
        eta = customer.locator("#order-eta")
        expect(stage).to_have_text("Artwork approved — waiting to be printed")
        expect(current).to_have_text("Printing")
        expect(customer.locator("#progress li")).to_have_text(
            ["Paid", "Artwork approved", "Printing", "Finishing", "Ready to ship", "Shipped"]
        )
        expect(eta).to_contain_text("Ready by ")
        journey.check(customer, "customer-order-approved")
        customer.evaluate("window.__sameDocument = true")  # a reload would drop this marker

        # The operator, in another browser context, moves the order along on the ops page.
        operator = journey.page(seed["operator_session"])
        operator.goto(f"{server.url}/ops/orders/{seed['order_id']}/")
        expect(operator.locator("#summary-next")).to_have_text("Start production.")
        journey.check(operator, "ops-order-approved")
        operator.get_by_role("button", name="Start production").click()
        expect(stage).to_have_text("Printing")
        expect(customer.locator("#timeline li").first).to_contain_text("Production started")

        operator.get_by_role("button", name="Printing done → Finishing").click()
        expect(current).to_have_text("Finishing")
        expect(customer.locator("#timeline li").first).to_contain_text(
            "Printing done: the order is being finished"
        )

        operator.get_by_role("button", name="Finishing done → Ready").click()
        expect(stage).to_have_text("Ready to ship")
        expect(current).to_have_text("Ready to ship")
        expect(eta).to_be_hidden()  # the estimate came true: no date beside "Ready"
        journey.check(customer, "customer-order-ready")

        form = operator.locator("#shipment-form")
        form.get_by_label("Carrier", exact=True).select_option("ups")
        form.get_by_label("Tracking number", exact=True).fill("1Z999AA10123456784")
        journey.check(operator, "ops-order-ready-to-ship")
        form.get_by_role("button", name="Record shipment").click()

        expect(stage).to_have_text("Shipped — every item has left the shop")
        expect(current).to_have_text("Shipped")  # never "Ready to ship" once it left
        expect(customer.locator("#progress li.done")).to_have_count(5)
        expect(eta).to_be_hidden()
        expect(customer.locator("#live-status")).to_have_text("Live")
        assert customer.evaluate("window.__sameDocument") is True
        journey.check(customer, "customer-order-shipped")

        customer.goto(f"{server.url}/orders/")
        expect(customer.locator("body")).to_contain_text("Shipped — every item has left the shop")
        journey.check(customer, "customer-my-orders")
    finally:
        journey.close()
    assert not journey.problems, "\n".join(journey.problems)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_an_operator_answers_a_change_request_refunds_and_cancels(
    browser,
    shop,
    shots,
    axe_source,  # noqa: F811
    viewport,
):
    server, seed = shop
    journey = Journey(browser, server, viewport, shots, axe_source)
    order_id, reference = seed["paid_order_id"], seed["paid_reference"]
    try:
        operator = journey.page(seed["operator_session"])
        operator.goto(f"{server.url}/ops/orders/{order_id}/")
        operator.set_input_files(
            "#proof-file",
            {"name": "mockup-1.png", "mimeType": "image/png", "buffer": png_bytes()},
        )
        operator.fill("#proof-notes", "Chest, 25 cm wide")
        operator.get_by_role("button", name="Send proof 1").click()
        expect(operator.locator(".messages")).to_contain_text("proof 1 sent to the customer")

        customer = journey.page(seed["customer_session"])
        customer.goto(f"{server.url}/orders/{order_id}/")
        expect(customer.locator("#order-stage")).to_have_text("Your proof is ready to approve")
        journey.check(customer, "customer-proof-waiting")
        customer.fill("#proof-comment", "Make the logo twice as big")
        customer.get_by_role("button", name="Request changes").click()
        expect(customer.locator("#order-stage")).to_have_text(
            "Changes requested — the shop is preparing a new proof"
        )
        expect(customer.locator("#action-notice")).to_contain_text("were sent to the print shop")
        expect(customer.locator("#live-status")).to_have_text("Live")
        journey.check(customer, "customer-changes-requested")

        # The operator's open page shows the request first, with the customer's words.
        banner = operator.locator("#change-request")
        expect(banner).to_contain_text("Make the logo twice as big")
        expect(banner.get_by_role("link", name="Send proof 2")).to_be_visible()
        expect(operator.locator("#summary-next")).to_have_text(
            "Send proof 2 with the customer's changes."
        )
        journey.check(operator, "ops-change-request")
        operator.goto(f"{server.url}/ops/orders")
        row = operator.locator(f'tr[data-order-id="{order_id}"]')
        expect(row).to_contain_text("Changes requested — send a new proof")
        journey.check(operator, "ops-order-list")
        operator.goto(f"{server.url}/ops/board/")
        expect(operator.locator(f'.board-card[data-reference="{reference}"]')).to_contain_text(
            "Changes requested"
        )
        journey.check(operator, "ops-board")

        # A refund: a typo stays in the field with the reason next to it, then the amount is
        # confirmed before any money leaves.
        operator.goto(f"{server.url}/ops/orders/{order_id}/")
        operator.fill("#refund-amount", "10,00 dollars")
        journey.refusal_expected = "/refunds"  # the page again, answered 400 with the reason
        operator.get_by_role("button", name="Refund…").click()
        expect(operator.locator("#refund-amount-error")).to_have_text("Enter a number.")
        journey.refusal_expected = ""
        expect(operator.locator("#refund-amount")).to_have_value("10,00 dollars")
        operator.fill("#refund-amount", "10.00")
        operator.get_by_role("button", name="Refund…").click()
        expect(operator.locator("h1")).to_have_text(
            f"Refund $10.00 to the customer of {reference}?"
        )
        journey.check(operator, "ops-refund-confirm")
        operator.get_by_role("button", name="Yes, refund $10.00").click()
        expect(operator.locator(".messages")).to_contain_text("Refund of $10.00 requested")

        operator.get_by_role("button", name="Cancel order…").click()
        expect(operator.locator("#confirm-yes")).to_have_text("Yes, cancel order")
        journey.check(operator, "ops-cancel-confirm")  # the red button's contrast included
        operator.locator("#confirm-yes").click()
        expect(operator.locator("#summary-status")).to_have_text("Canceled")

        canceled = customer.locator("#canceled-banner")
        expect(canceled).to_contain_text("This order was canceled")
        expect(canceled).to_contain_text("Refund of $")
        expect(customer.locator("#progress li.current")).to_have_count(0)
        journey.check(customer, "customer-order-canceled")
    finally:
        journey.close()
    assert not journey.problems, "\n".join(journey.problems)
