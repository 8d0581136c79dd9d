"""Browser-test fixtures: Debian's chromium for Playwright and an ASGI (daphne) live server.

Import the fixtures into a browser test module:
`from tests.browser_support import asgi_server, browser_type_launch_args  # noqa: F401`.
pytest-django's `live_server` is WSGI-only: pages that need
WebSockets use `asgi_server` (daphne in a subprocess on its own SQLite file and in-memory layer).
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.realtime_support import Daphne, prepare_database, server_env

CHROMIUM = "/usr/lib/chromium/chromium"
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


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Playwright drives Debian's chromium (no browser downloads on this machine)."""
    if not (shutil.which("chromium") or os.path.exists(CHROMIUM)):
        pytest.skip("chromium is not installed (make browser)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def asgi_server(tmp_path):
    """daphne serving HTTP and WebSockets, seeded with a customer, an operator and an order.

    Yields `(server, seed)`; `seed` has order_id, reference, customer_session, operator_token.
    """
    env = server_env(f"sqlite:///{tmp_path / 'browser.sqlite3'}")
    seed = prepare_database(env, static=True)
    server = Daphne(env)
    try:
        server.wait_ready()
        yield server, seed
    finally:
        server.stop()
