"""A mail server that accepts connections and never answers: operators' requests do not wait on
it, and once it answers again every customer mail is sent exactly once."""

from __future__ import annotations

import time
from collections import Counter

import requests

from tests.faults.stack import csrf_of, logged_in, suite_marks

pytestmark = suite_marks()


def test_a_silent_mail_server_holds_no_request_and_loses_no_mail(stack):
    seed = stack.seed(ready=51)
    base = stack.http
    first, *rest = seed["ready"]
    operator = {"Authorization": f"Token {seed['operator_token']}"}
    ops = logged_in(base, seed["operator_email"])
    stack.smtp.hang()
    try:
        started = time.monotonic()
        patched = requests.patch(
            f"{base}/api/production/{first}",
            json={"status": "fulfilled"},
            headers=operator,
            timeout=30,
        )
        patch_seconds = time.monotonic() - started
        assert patched.status_code == 200, patched.text
        assert patched.json()["order"]["orderStatus"] == "fulfilled"
        assert patch_seconds < 1, patch_seconds

        started = time.monotonic()
        bulk = ops.post(
            f"{base}/ops/orders/bulk",
            data={
                "change": "status:fulfilled",
                "scope": "selected",
                "ids": rest,
                "filters": "",
                "csrfmiddlewaretoken": csrf_of(ops),
            },
            headers={"Referer": f"{base}/ops/orders"},
            timeout=30,
        )
        bulk_seconds = time.monotonic() - started
        assert bulk.status_code == 200, bulk.text[:500]
        assert "Updated 50 orders" in bulk.text  # the per-order report, after the redirect
        assert bulk_seconds < 5, bulk_seconds
        time.sleep(1.5)  # the worker is stuck on the silent server meanwhile
    finally:
        stack.smtp.answer()

    ids = seed["ready"]
    references = stack.query(
        "from production.models import ProductionOrder as O\n"
        f"result = list(O.objects.filter(pk__in={ids!r}).values_list('reference', flat=True))"
    )
    expected = {f"Your order {reference} is ready" for reference in references}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        received = {m["subject"] for m in stack.smtp.messages()}
        if expected <= received:
            break
        time.sleep(0.5)
    time.sleep(3)  # a second copy, if any, would arrive by now
    subjects = Counter(m["subject"] for m in stack.smtp.messages())
    assert {s: n for s, n in subjects.items() if s in expected} == dict.fromkeys(expected, 1), (
        stack.logs()
    )
    unsent = stack.query(
        "from production.models import OutgoingEmail\n"
        f"result = OutgoingEmail.objects.filter(order_id__in={ids!r}, sent_at=None).count()"
    )
    assert unsent == 0
