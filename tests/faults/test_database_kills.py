"""PostgreSQL connections killed under traffic (`pg_terminate_backend`, on the stack's database
only): no request fails, no answered write is lost or doubled, and a webhook redelivered while its
first delivery was cut off pays its order once."""

from __future__ import annotations

import threading
import time
import urllib.parse
import uuid

import psycopg
import requests

from tests.faults.stack import deliver, paid_event, suite_marks
from tests.faults.traffic import Traffic

pytestmark = suite_marks()


class Killer:
    """Terminates every connection to one database, every `interval` seconds, until stopped."""

    def __init__(self, database_url: str, interval: float = 0.3) -> None:
        parts = urllib.parse.urlsplit(database_url)
        self.name = parts.path.lstrip("/")
        self.admin = parts._replace(path="/postgres").geturl()
        self.interval = interval
        self.killed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        with psycopg.connect(self.admin, autocommit=True) as connection:
            while not self._stop.wait(self.interval):
                rows = connection.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    [self.name],
                ).fetchall()
                self.killed += sum(1 for (done,) in rows if done)


def test_killed_connections_lose_and_double_nothing(stack, fault_report):
    seed = stack.seed(drafts=30, approved=1)
    base = stack.http
    (patched,) = seed["approved"]
    customer = {"Authorization": f"Token {seed['customer_token']}"}
    operator = {"Authorization": f"Token {seed['operator_token']}"}
    run = uuid.uuid4().hex[:8]
    drafts = list(seed["drafts"])

    def api_patch(n: int) -> requests.Response:
        return requests.patch(
            f"{base}/api/production/{patched}",
            json={"notes": f"note {run} {n}"},
            headers=operator,
            timeout=30,
        )

    def api_get(n: int) -> requests.Response:
        return requests.get(f"{base}/api/production/{patched}", headers=customer, timeout=30)

    def api_create(n: int) -> requests.Response:
        body = {
            "designUrl": "https://example.com/design.png",
            "garmentId": seed["garment"],
            "sizes": [{"size": "M", "quantity": 1}],
            "notes": f"create {run} {n}",
        }
        headers = {**customer, "Idempotency-Key": f"{run}-{n}"}
        return requests.post(f"{base}/api/production", json=body, headers=headers, timeout=30)

    def webhook(n: int) -> requests.Response | None:
        # Each payment is delivered twice, as Stripe redelivers: at once and again later.
        if not drafts:
            return None
        draft = drafts[n // 2 % len(drafts)] if n < 2 * len(seed["drafts"]) else None
        if draft is None:
            return None
        time.sleep(0.05)
        return deliver(base, paid_event(draft, f"evt_{run}_{draft['id']}"))

    traffic = Traffic()
    for kind, request in [
        ("api_patch", api_patch),
        ("api_get", api_get),
        ("api_create", api_create),
        ("webhook", webhook),
    ]:
        traffic.run(kind, request)
    killer = Killer(stack.database_url)
    time.sleep(0.5)
    killer.start()
    # At least 5 s of killing, and on until every payment was delivered (twice) while it went on.
    deliveries = 2 * len(seed["drafts"])
    started = time.monotonic()
    while time.monotonic() - started < 60:
        answered = sum(1 for kind, *_ in traffic.answers if kind == "webhook")
        if time.monotonic() - started >= 5 and answered >= deliveries:
            break
        time.sleep(0.2)
    killer.stop()
    time.sleep(1)
    traffic.stop()
    fault_report.add_traffic(traffic)
    fault_report.faults = killer.killed
    assert killer.killed > 0
    assert not traffic.failures, traffic.summary()
    assert not traffic.server_errors(), traffic.summary() + stack.logs()

    # Nothing lost, nothing doubled: each answered note once, each answered creation once (its
    # Idempotency-Key), each paid draft submitted once however often its event came.
    notes = sum(1 for kind, *_ in traffic.answers if kind == "api_patch")
    creates = sum(1 for kind, *_ in traffic.answers if kind == "api_create")
    draft_ids = [draft["id"] for draft in seed["drafts"]]
    stored = stack.query(
        "from django.db.models import Count\n"
        "from payments.models import ProcessedEvent\n"
        "from production.models import FulfillmentEvent, OrderNote, ProductionOrder as O\n"
        f"notes = OrderNote.objects.filter(body__startswith='note {run} ')\n"
        f"created = O.objects.filter(notes__startswith='create {run} ')\n"
        "paid = FulfillmentEvent.objects.filter(metadata__to='submitted')\n"
        f"paid = paid.filter(order_id__in={draft_ids!r})\n"
        "result = ["
        "notes.count(), notes.values('body').distinct().count(),"
        "created.count(), created.values('notes').distinct().count(),"
        "paid.count(), paid.values('order_id').distinct().count(),"
        f"ProcessedEvent.objects.filter(event_id__startswith='evt_{run}_').count()"
        "]"
    )
    written = [(notes, *stored[0:2]), (creates, *stored[2:4]), (len(draft_ids), *stored[4:6])]
    fault_report.count_writes(
        lost=sum(max(0, answered - distinct) for answered, _, distinct in written),
        doubled=sum(total - distinct for _, total, distinct in written),
    )
    assert stored == [
        notes,
        notes,
        creates,
        creates,
        len(draft_ids),
        len(draft_ids),
        len(draft_ids),
    ]
