"""PgBouncer killed under traffic and started again, three times: while it is down a request the
database could not serve answers 503 with Retry-After (never 500), nothing answered as stored is
lost or doubled, and the site serves as before once it is back (the CSV export too, whose
`.iterator()` runs without a server-side cursor behind transaction pooling)."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import requests

from tests.faults.stack import deliver, logged_in, paid_event, suite_marks
from tests.faults.traffic import Traffic

pytestmark = suite_marks()

ROUNDS = 3
DOWN_SECONDS = 1.0


def test_pgbouncer_restarts_answer_503_and_lose_or_double_nothing(stack, fault_report):
    if stack.pgbouncer is None:
        pytest.skip("the stack runs without PgBouncer (pgbouncer is not installed)")
    seed = stack.seed(drafts=40, approved=1)
    base = stack.http
    (patched,) = seed["approved"]
    customer = {"Authorization": f"Token {seed['customer_token']}"}
    operator = {"Authorization": f"Token {seed['operator_token']}"}
    ops = logged_in(base, seed["operator_email"])
    run = uuid.uuid4().hex[:8]
    drafts = list(seed["drafts"])
    answered: dict[str, list[tuple[int, int]]] = {}  # kind: (n, status) per answer
    exports: list[str] = []
    without_retry_after: list[str] = []
    lock = threading.Lock()

    def keep(kind: str, n: int, response: requests.Response) -> requests.Response:
        with lock:
            answered.setdefault(kind, []).append((n, response.status_code))
        if response.status_code >= 500 and response.headers.get("Retry-After") != "2":
            without_retry_after.append(f"{kind} {response.status_code}: {response.text[:200]}")
        return response

    def api_patch(n: int) -> requests.Response:
        body = {"notes": f"note {run} {n}"}
        url = f"{base}/api/production/{patched}"
        return keep("api_patch", n, requests.patch(url, json=body, headers=operator, timeout=30))

    def api_create(n: int) -> requests.Response:
        body = {
            "designUrl": "https://example.com/design.png",
            "garmentId": seed["garment"],
            "sizes": [{"size": "M", "quantity": 1}],
            "notes": f"create {run} {n}",
        }
        headers = {**customer, "Idempotency-Key": f"{run}-{n}"}
        url = f"{base}/api/production"
        return keep("api_create", n, requests.post(url, json=body, headers=headers, timeout=30))

    def webhook(n: int) -> requests.Response | None:
        # Each payment delivered twice, as Stripe redelivers (and again after a 503).
        if n >= 2 * len(drafts):
            return None
        time.sleep(0.05)
        draft = drafts[n // 2]
        return keep("webhook", n, deliver(base, paid_event(draft, f"evt_{run}_{draft['id']}")))

    def export(n: int) -> requests.Response:
        time.sleep(0.2)
        response = ops.get(f"{base}/ops/orders/export.csv", timeout=30)
        if response.status_code == 200:
            exports.append(response.text.splitlines()[0])
        return keep("export", n, response)

    traffic = Traffic()
    for kind, request in [
        ("api_patch", api_patch),
        ("api_create", api_create),
        ("webhook", webhook),
        ("export", export),
    ]:
        traffic.run(kind, request)
    time.sleep(1)
    for _ in range(ROUNDS):
        stack.pgbouncer.stop(crash=True)  # SIGKILL: every client connection cut at once
        time.sleep(DOWN_SECONDS)
        stack.pgbouncer.start()  # the same port and file
        time.sleep(1.5)
    back = time.monotonic()
    time.sleep(2)
    traffic.stop()
    fault_report.add_traffic(traffic)
    fault_report.faults = ROUNDS

    # An export cut mid-stream ends as a broken download (never a file that looks complete);
    # every other request is answered.
    broken = [f for f in traffic.failures if f[0] == "export" and "ChunkedEncoding" in f[1]]
    assert [f for f in traffic.failures if f not in broken] == [], traffic.summary()
    # Down: 503 and Retry-After; never a 500.
    statuses = {status for _, status, *_ in traffic.answers}
    assert statuses <= {200, 201, 503}, traffic.summary() + stack.logs()
    assert without_retry_after == []
    # Back: every kind is served again.
    served_after = {kind for kind, status, _, at in traffic.answers if at > back and status < 500}
    assert {"api_patch", "api_create", "export"} <= served_after, traffic.summary()
    assert exports and set(exports) == {exports[0]} and exports[0].startswith("Reference")

    stored = stack.query(
        "from production.models import FulfillmentEvent, OrderNote, ProductionOrder as O\n"
        f"notes = list(OrderNote.objects.filter(body__startswith='note {run} ')"
        ".values_list('body', flat=True))\n"
        f"created = list(O.objects.filter(notes__startswith='create {run} ')"
        ".values_list('notes', flat=True))\n"
        "paid = FulfillmentEvent.objects.filter(metadata__to='submitted')\n"
        f"paid = list(paid.filter(order_id__in={[d['id'] for d in drafts]!r})"
        ".values_list('order_id', flat=True))\n"
        "result = [notes, created, [str(p) for p in paid]]"
    )
    notes, created, paid = stored
    ok_notes = {f"note {run} {n}" for n, status in answered.get("api_patch", []) if status == 200}
    ok_creates = {
        f"create {run} {n}" for n, status in answered.get("api_create", []) if status == 201
    }
    ok_paid = {drafts[n // 2]["id"] for n, status in answered.get("webhook", []) if status == 200}
    fault_report.count_writes(
        lost=len(ok_notes - set(notes)) + len(ok_creates - set(created)) + len(ok_paid - set(paid)),
        doubled=(len(notes) - len(set(notes)))
        + (len(created) - len(set(created)))
        + (len(paid) - len(set(paid))),
        failed_but_stored=len(set(notes) - ok_notes) + len(set(created) - ok_creates),
    )
    assert ok_notes <= set(notes) and len(notes) == len(set(notes))
    assert ok_creates <= set(created) and len(created) == len(set(created))
    assert ok_paid <= set(paid) and len(paid) == len(set(paid))
