"""Shared fixtures for Playwright browser tests (Debian chromium, never `playwright install`).

Import the fixtures into a browser test module (they are not in conftest, so unit runs skip them):
    from tests.browser_support import browser_type_launch_args  # noqa: F401
    pytestmark = pytest.mark.usefixtures("plain_http_live_server")
Run with `make test-browser` (its own pytest process, DJANGO_ALLOW_ASYNC_UNSAFE=true).
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = next(
    (
        p
        for p in ("/usr/lib/chromium/chromium", shutil.which("chromium") or "")
        if p and os.path.exists(p)
    ),
    None,
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "pw-for-tests-123"  # tests.factories.UserFactory's


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    if CHROMIUM is None:
        pytest.skip("Debian chromium is not installed (make browser)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def plain_http_live_server(live_server, settings):
    """The live server over plain HTTP: tests run with production settings (secure cookies)."""
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_SSL_REDIRECT = False
    return live_server


def log_in(page, base_url: str, email: str, password: str = PASSWORD, next_url: str = "/") -> None:
    page.goto(f"{base_url}/accounts/login/?next={next_url}")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base_url}{next_url}")


def fill_ship_to(page) -> None:
    """Fill the order form's ship-to address (Shipping is preselected) with a valid US one."""
    from tests.factories import ORDER_FORM_ADDRESS as address

    page.get_by_label("Full name").fill(address["ship_name"])
    page.get_by_label("Address line 1").fill(address["ship_address1"])
    page.get_by_label("City").fill(address["ship_city"])
    page.get_by_label("State, province or region").fill(address["ship_state"])
    page.get_by_label("Country").select_option(address["ship_country"])
    page.get_by_label("Postal code").fill(address["ship_zip"])


@pytest.fixture
def asgi_server(tmp_path):
    """daphne serving HTTP and WebSockets, for pages that need sockets (`live_server` is WSGI).

    Its own SQLite file, in-memory channel layer, static files collected (DEBUG is off). Yields
    `(server, seed)`; `seed` has order_id, reference, customer_session, operator_session and
    operator_token.
    """
    from tests.realtime_support import prepare_database, server_env, serving

    env = server_env(f"sqlite:///{tmp_path / 'browser.sqlite3'}")
    seed = prepare_database(env, static=True)
    with serving(env) as server:
        yield server, seed
