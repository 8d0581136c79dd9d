"""In a real browser at 360 px and 1366 px: a newcomer signs up from a garment's card and is
welcomed back on that garment's order form; a customer who forgot their password resets it from
the log-in page; the shop's own 404 and 403 pages lead on. Every page fits (no sideways scroll),
logs no console error and, with axe-core present (`make browser`), has no serious or critical
accessibility violation. Screenshots go to test-results/screenshots/ (accounts-*, error-*)."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from production.accounts.signup import WELCOME
from tests.browser_support import (  # noqa: F401 — pytest fixtures
    PASSWORD,
    browser_type_launch_args,
    plain_http_live_server,
)
from tests.factories import GarmentFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("plain_http_live_server"),
]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-results" / "screenshots"
AXE = ROOT / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"phone": (360, 740), "desktop": (1366, 900)}
NEW_PASSWORD = "a-brand-new-pass-phrase"


@pytest.fixture(params=list(WIDTHS), ids=list(WIDTHS))
def screen(request, browser):
    """A browser context of one width, collecting console errors; `check(page, name)` asserts the
    page fits, is clean and accessible, and writes its screenshot."""
    label = request.param
    width, height = WIDTHS[label]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def check(name: str, *, expected_errors: int = 0) -> None:
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px at {width}px"
        # A 404/403 page logs its own status as a console error in Chromium: that one only.
        assert len(errors) == expected_errors, errors
        errors.clear()
        if AXE.is_file():
            page.evaluate(AXE.read_text())
            serious = page.evaluate(
                """async () => (await axe.run(document, {resultTypes: ["violations"]}))
                    .violations.filter((v) => ["serious", "critical"].includes(v.impact))
                    .map((v) => v.id + ": " + v.nodes.map((n) => n.target.join(" ")).join("; "))"""
            )
            assert serious == [], f"{page.url}: {serious}"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)

    page.check = check
    yield page
    context.close()


def link_in(body: str, base: str, path: str) -> str:
    found = re.search(rf"{re.escape(base)}{path}\S*", body)
    assert found, body
    return found.group(0)


def test_a_newcomer_signs_up_from_a_garment_and_is_welcomed_back_to_it(
    screen, live_server, settings, task_worker, mailoutbox
):
    settings.SITE_URL = live_server.url
    garment = GarmentFactory(name="Heavy Hoodie", shopify_gid="gid://shopify/Product/777")
    page = screen

    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name=re.compile("Heavy Hoodie")).click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()  # the form needs an account
    page.check("accounts-login")
    page.locator("main").get_by_role("link", name="Sign up").click()
    page.get_by_label("Email").fill("newcomer@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password confirmation").fill(PASSWORD)
    page.check("accounts-signup")
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    expect(page.locator("main")).to_contain_text("newcomer@example.com")
    page.check("accounts-signup-sent")

    assert task_worker() == ["welcome"]
    [welcome] = mailoutbox
    page.goto(link_in(welcome.body, live_server.url, "/accounts/activate/"))

    expect(page).to_have_url(re.compile(r"/orders/new/\?garment=gid"))
    expect(page.locator(".messages")).to_contain_text(WELCOME)
    expect(page.locator("header")).to_contain_text("newcomer@example.com")
    expect(page.locator(f'input[name="garment"][value="{garment.shopify_gid}"]')).to_be_checked()
    page.check("accounts-welcome")


def test_a_customer_resets_a_forgotten_password_from_the_log_in_page(
    screen, live_server, settings, customer, task_worker, mailoutbox
):
    settings.SITE_URL = live_server.url
    page = screen

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Forgot password?").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Django administration")
    page.check("accounts-reset-form")
    page.get_by_label("Email").fill(customer.email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    page.check("accounts-reset-sent")

    task_worker()
    [reset] = mailoutbox
    page.goto(link_in(reset.body, live_server.url, "/accounts/reset/"))
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.check("accounts-reset-new-password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set my password").click()
    expect(page.get_by_role("heading", name="Your password is changed")).to_be_visible()
    page.check("accounts-reset-done")

    page.get_by_role("link", name="Log in").last.click()
    page.get_by_label("Email").fill(customer.email)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("header")).to_contain_text(customer.email)


def test_the_shops_own_error_pages_lead_on(screen, live_server, customer):
    page = screen

    response = page.goto(f"{live_server.url}/no/such/page/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="We could not find that page")).to_be_visible()
    page.check("error-404", expected_errors=1)
    page.get_by_role("link", name="Go to the shop's home page").click()
    expect(page).to_have_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(customer.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("header")).to_contain_text(customer.email)
    response = page.goto(f"{live_server.url}/ops/orders")
    assert response.status == 403
    expect(
        page.get_by_role("heading", name="This page is for the shop's operators")
    ).to_be_visible()
    expect(page.locator("main")).to_contain_text("You need an operator account")
    page.check("error-403-ops", expected_errors=1)
    page.get_by_role("link", name="See your orders").click()
    expect(page.get_by_role("heading", name="My orders")).to_be_visible()
