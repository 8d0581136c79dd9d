"""The artwork check arrives on the customer's order page while it is open: "Checking your
design…" turns into the verdict and its checks without a reload."""

import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.browser_support import asgi_server, browser_type_launch_args  # noqa: F401
from tests.realtime_support import BASE_DIR, run_json, server_env

pytestmark = pytest.mark.browser

QUEUE_A_CHECK = """
import django, json
django.setup()
from artwork.tasks import request_preflight
from production.models import OrderDesign, ProductionOrder
order = ProductionOrder.objects.get(pk="{order_id}")
OrderDesign.objects.filter(order=order).update(url="/static/demo/design-3.svg")
print(json.dumps(request_preflight(order)))
"""


def test_the_verdict_replaces_the_progress_without_a_reload(page, asgi_server, tmp_path):  # noqa: F811
    server, seed = asgi_server
    env = server_env(f"sqlite:///{tmp_path / 'browser.sqlite3'}")  # the server's database
    assert run_json(env, QUEUE_A_CHECK.format(order_id=seed["order_id"])) == 1
    page.context.add_cookies(
        [{"name": "sessionid", "value": seed["customer_session"], "url": server.url}]
    )
    page.goto(f"{server.url}/orders/{seed['order_id']}/")
    expect(page.locator("#artwork-check h2")).to_contain_text("Checking your design")
    page.evaluate("window.__sameDocument = true")

    subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--queue-name", "artwork"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
    )

    expect(page.locator("#artwork-check h2")).to_contain_text("Ready to print", timeout=10_000)
    expect(page.locator('#artwork-check [data-check="resolution"]')).to_contain_text(
        "Vector artwork"
    )
    expect(page.locator("#artwork-check img").first).to_be_visible()  # the mockup
    assert page.evaluate("window.__sameDocument") is True
