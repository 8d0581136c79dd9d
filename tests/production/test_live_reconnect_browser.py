"""In a real browser: the order page's socket over the per-user cap backs off and says why, and a
page whose server lost Redis comes back by itself once Redis is back, even empty."""

import shutil

import pytest
from playwright.sync_api import expect

from tests.browser_support import browser_type_launch_args  # noqa: F401
from tests.realtime_support import (
    Daphne,
    RedisServer,
    api_patch,
    prepare_database,
    server_env,
    unique_prefix,
)

pytestmark = pytest.mark.browser

# Counts the sockets a page opens (the script calls `new WebSocket(url)`).
COUNT_SOCKETS = """
window.__sockets = 0;
window.__closes = [];
window.__shown = 0;
document.addEventListener("visibilitychange", function () {
  if (document.visibilityState === "visible") window.__shown += 1;
});
const NativeWebSocket = window.WebSocket;
window.WebSocket = function (url, protocols) {
  window.__sockets += 1;
  const socket = new NativeWebSocket(url, protocols);
  socket.addEventListener("close", function (event) { window.__closes.push(event.code); });
  return socket;
};
"""


def sockets_opened(page) -> dict:
    """How many sockets the page opened, their close codes, and how often it was shown again."""
    return page.evaluate("({opened: __sockets, closes: __closes, shown: __shown})")


@pytest.fixture
def serve(tmp_path):
    """Start daphne with extra settings; yields a function returning `(server, seed)`."""
    servers: list[Daphne] = []

    def start(**settings: str):
        env = server_env(f"sqlite:///{tmp_path / 'browser.sqlite3'}", **settings)
        seed = prepare_database(env, static=True)
        server = Daphne(env)
        servers.append(server)
        server.wait_ready()
        return server, seed

    yield start
    for server in servers:
        server.stop()


def as_customer(page, server, seed) -> str:
    page.context.add_cookies(
        [{"name": "sessionid", "value": seed["customer_session"], "url": server.url}]
    )
    return f"{server.url}/orders/{seed['order_id']}/"


def test_a_page_over_the_socket_cap_says_so_and_does_not_knock_again_at_once(page, serve):
    server, seed = serve(WS_MAX_SOCKETS_PER_USER="1")
    url = as_customer(page, server, seed)
    page.goto(url)
    expect(page.locator("#live-status")).to_have_text("Live")

    second = page.context.new_page()
    second.add_init_script(COUNT_SOCKETS)
    second.goto(url)
    status = second.locator("#live-status")
    expect(status).to_contain_text("Too many live pages open")
    refused = sockets_opened(second)
    second.wait_for_timeout(3000)
    # No retry within seconds of the 4429 (unless the tab is shown again, which retries at once).
    after = sockets_opened(second)
    assert 4429 in after["closes"], after
    assert after["opened"] - refused["opened"] == after["shown"] - refused["shown"], after

    # The first tab goes; coming back to the second one (here: back online) reconnects at once.
    page.close()
    for _ in range(10):
        second.evaluate("window.dispatchEvent(new Event('online'))")
        second.wait_for_timeout(300)
        if status.text_content() == "Live":
            break
    expect(status).to_have_text("Live")

    # The operators' list alike: its second tab says it is not live, and waits.
    operator = page.context.browser.new_context()
    operator.add_cookies(
        [{"name": "sessionid", "value": seed["operator_session"], "url": server.url}]
    )
    first_list = operator.new_page()
    first_list.goto(f"{server.url}/ops/orders")
    expect(first_list.locator("#live-status")).to_have_text("Live")
    second_list = operator.new_page()
    second_list.add_init_script(COUNT_SOCKETS)
    second_list.goto(f"{server.url}/ops/orders")
    expect(second_list.locator("#live-status")).to_contain_text("too many live pages open")
    refused = sockets_opened(second_list)
    second_list.wait_for_timeout(2000)
    after = sockets_opened(second_list)
    assert 4429 in after["closes"], after
    assert after["opened"] - refused["opened"] == after["shown"] - refused["shown"], after
    operator.close()


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server on PATH")
def test_the_order_page_comes_back_by_itself_after_redis_restarts_empty(page, serve):
    redis_server = RedisServer()
    redis_server.start()
    try:
        server, seed = serve(REDIS_URL=redis_server.url, CHANNELS_PREFIX=unique_prefix())
        page.goto(as_customer(page, server, seed))
        status = page.locator("#live-status")
        expect(status).to_have_text("Live")
        page.evaluate("window.__sameDocument = true")  # a reload would drop this marker

        redis_server.stop()
        expect(status).to_have_text("Connection lost — reconnecting…")
        redis_server.start()  # same port, without data
        expect(status).to_have_text("Live", timeout=15000)

        api_patch(server.url, seed["order_id"], seed["operator_token"], {"status": "in_production"})
        expect(page.locator("#order-stage")).to_have_text("Printing")
        expect(page.locator("#timeline li").first).to_contain_text("Production started")
        assert page.evaluate("window.__sameDocument") is True
    finally:
        redis_server.stop()
