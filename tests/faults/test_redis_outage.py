"""Redis stopped under traffic, then restarted empty: the site keeps serving from PostgreSQL,
every committed write is there, and live pages reconnect and get the next update."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import requests
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.faults.stack import csrf_of, deliver, logged_in, paid_event, suite_marks
from tests.faults.traffic import Traffic

pytestmark = suite_marks()


def test_redis_down_then_back_empty_costs_no_request_and_no_write(stack):
    seed = stack.seed(drafts=60, approved=2)
    base = stack.http
    watched, patched = seed["approved"]
    customer = {"Authorization": f"Token {seed['customer_token']}"}
    operator = {"Authorization": f"Token {seed['operator_token']}"}
    browser = logged_in(base, seed["customer_email"])
    ops = logged_in(base, seed["operator_email"])
    run = uuid.uuid4().hex[:8]
    drafts = list(seed["drafts"])

    def api_get(n: int) -> requests.Response:
        return requests.get(f"{base}/api/production/{watched}", headers=customer, timeout=30)

    def api_patch(n: int) -> requests.Response:
        # No change of state: the note is stored (an internal note), one per answered request.
        return requests.patch(
            f"{base}/api/production/{patched}",
            json={"notes": f"note {run} {n}"},
            headers=operator,
            timeout=30,
        )

    def api_create(n: int) -> requests.Response:
        body = {
            "designUrl": "https://example.com/design.png",
            "garmentId": seed["garment"],
            "sizes": [{"size": "M", "quantity": 1}],
            "notes": f"create {run} {n}",
        }
        return requests.post(f"{base}/api/production", json=body, headers=customer, timeout=30)

    def customer_page(n: int) -> requests.Response:
        return browser.get(f"{base}/orders/{watched}/", timeout=30)

    def ops_list(n: int) -> requests.Response:
        return ops.get(f"{base}/ops/orders?status=approved", timeout=30)

    def ops_note(n: int) -> requests.Response:
        return ops.post(
            f"{base}/ops/orders/{patched}/actions",
            data={"action": "note", "body": f"ops {run} {n}", "csrfmiddlewaretoken": csrf_of(ops)},
            headers={"Referer": f"{base}/ops/orders/{patched}/"},
            allow_redirects=False,
            timeout=30,
        )

    def login(n: int) -> requests.Response:
        session = logged_in(base, seed["customer_email"])  # asserts the 302 itself
        return session.get(f"{base}/orders/", timeout=30)

    def webhook(n: int) -> requests.Response | None:
        if not drafts:
            return None
        time.sleep(0.08)  # one payment every ~0.1 s: the drafts last through the outage
        return deliver(base, paid_event(drafts.pop(), f"evt_{run}_{n}"))

    async def live_socket() -> list[str]:
        """The customer's order page socket, reconnecting as order-live.js does; what it saw."""
        seen: list[str] = []
        url = f"ws://127.0.0.1:{stack.ws_port}/ws/orders/{watched}/"
        headers = {"Cookie": f"sessionid={seed['customer_session']}"}
        origin = f"http://127.0.0.1:{stack.ws_port}"
        async with connect(url, origin=origin, additional_headers=headers) as socket:
            seen.append("open")
            try:
                await asyncio.wait_for(socket.recv(), timeout=12)
            except ConnectionClosed as closed:
                seen.append(f"closed {closed.rcvd.code if closed.rcvd else None}")
            except TimeoutError:
                seen.append("still open")
        return seen

    traffic = Traffic()
    for kind, request in [
        ("api_get", api_get),
        ("api_patch", api_patch),
        ("api_create", api_create),
        ("customer_page", customer_page),
        ("ops_list", ops_list),
        ("ops_note", ops_note),
        ("login", login),
        ("webhook", webhook),
    ]:
        traffic.run(kind, request)

    loop = asyncio.new_event_loop()
    socket_task = loop.create_task(live_socket())
    loop.run_until_complete(asyncio.sleep(1.0))
    stack.redis.stop(crash=True)
    down_at = time.monotonic()
    loop.run_until_complete(asyncio.sleep(4.0))
    back_at = time.monotonic()
    stack.redis.start()  # empty: no sessions, no cached orders, no group memberships
    loop.run_until_complete(asyncio.sleep(2.0))
    traffic.stop()
    seen = loop.run_until_complete(socket_task)

    assert traffic.answers, "no traffic was answered"
    assert not traffic.failures, traffic.summary() + stack.logs()
    assert not traffic.server_errors(), traffic.summary() + stack.logs()
    expected = {"api_get": 200, "api_patch": 200, "api_create": 201, "customer_page": 200}
    expected |= {"ops_list": 200, "ops_note": 302, "login": 200, "webhook": 200}
    unexpected = [a for a in traffic.answers if a[1] != expected[a[0]]]
    assert not unexpected, traffic.summary()
    assert traffic.kinds_sent_between(down_at, back_at) == set(expected), traffic.summary()

    # Every answered write is in the database, once.
    patched_notes = sum(1 for kind, *_ in traffic.answers if kind == "api_patch")
    ops_notes = sum(1 for kind, *_ in traffic.answers if kind == "ops_note")
    creates = sum(1 for kind, *_ in traffic.answers if kind == "api_create")
    paid = sum(1 for kind, *_ in traffic.answers if kind == "webhook")
    draft_ids = [draft["id"] for draft in seed["drafts"]]
    stored = stack.query(
        "from production.models import OrderNote, ProductionOrder as O\n"
        f"notes = OrderNote.objects.filter(order_id='{patched}')\n"
        "result = ["
        f"notes.filter(body__startswith='note {run} ').count(),"
        f"notes.filter(body__startswith='ops {run} ').count(),"
        f"O.objects.filter(notes__startswith='create {run} ').count(),"
        f"O.objects.filter(pk__in={draft_ids!r}, status='submitted').count()"
        "]"
    )
    assert stored == [patched_notes, ops_notes, creates, paid]

    # The live page: its socket closed (4503, "unavailable") when Redis went; once Redis is back,
    # the page's reconnect gets the next change.
    assert seen == ["open", "closed 4503"]
    loop.run_until_complete(_reconnect_and_receive(stack, seed, watched, operator))
    loop.close()


async def _reconnect_and_receive(stack, seed: dict, order_id: str, operator: dict) -> None:
    url = f"ws://127.0.0.1:{stack.ws_port}/ws/orders/{order_id}/"
    headers = {"Cookie": f"sessionid={seed['customer_session']}"}
    origin = f"http://127.0.0.1:{stack.ws_port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            async with connect(url, origin=origin, additional_headers=headers) as socket:
                await asyncio.sleep(0.3)  # the subscription is made before accept; be generous
                response = await asyncio.to_thread(
                    requests.patch,
                    f"{stack.http}/api/production/{order_id}",
                    json={"priority": "rush"},
                    headers=operator,
                    timeout=30,
                )
                assert response.status_code == 200, response.text
                frame = json.loads(await asyncio.wait_for(socket.recv(), timeout=10))
                assert frame["type"] == "order.updated"
                assert frame["order"]["priority"] == "Rush"
                return
        except (ConnectionClosed, InvalidStatus, OSError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
