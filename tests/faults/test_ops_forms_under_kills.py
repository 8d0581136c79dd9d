"""Operators post notes and customer messages while every PostgreSQL connection of the stack is
cut every 0.15 s: what the operator saw as added is stored once, what they saw fail is not stored,
and posting the same form again (as an operator does after an error) adds nothing twice: no
second note, no second message, no second mail."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import requests

from tests.faults.stack import csrf_of, logged_in, suite_marks
from tests.faults.test_database_kills import Killer

pytestmark = suite_marks()

THREADS = 4
POSTS = 60  # per thread
ATTEMPTS = 3  # the first post and two resubmissions of the same form
DEADLINE = 60  # seconds of traffic at most
ADDED = {"note": "Internal note added.", "message": "Message posted to the customer&#x27;s"}


def form_token(page: str, action: str) -> str:
    """The one-time token of the page's form for `action` ("" when the page has none)."""
    found = re.search(
        rf'name="action" value="{action}">\s*<input type="hidden" name="token" value="([^"]+)"',
        page,
    )
    return found.group(1) if found else ""


@dataclass
class Operator:
    """One operator on one order's page, posting notes and messages and resubmitting a form
    whose answer was not the page saying it was added."""

    base: str
    order: str
    session: requests.Session
    run: str
    number: int
    requests: int = 0
    server_errors: int = 0
    statuses: Counter = field(default_factory=Counter)  # (action, the post's status or error)
    outcomes: dict[str, tuple[str, bool]] = field(default_factory=dict)  # body: kind, added

    def page(self) -> str | None:
        try:
            answer = self.session.get(f"{self.base}/ops/orders/{self.order}/", timeout=30)
        except requests.RequestException:
            return None
        finally:
            self.requests += 1
        self.server_errors += answer.status_code >= 500
        return answer.text if answer.status_code == 200 else None

    def post(self, action: str, body: str, token: str) -> tuple[bool, str | None]:
        """Post the form once and follow its redirect as a browser does: whether the page said it
        was added, and the page."""
        data = {"action": action, "body": body, "token": token}
        data["csrfmiddlewaretoken"] = csrf_of(self.session)
        self.requests += 1
        try:
            answer = self.session.post(
                f"{self.base}/ops/orders/{self.order}/actions",
                data=data,
                allow_redirects=False,
                timeout=30,
            )
        except requests.RequestException as error:
            self.statuses[action, type(error).__name__] += 1
            return False, None
        self.statuses[action, answer.status_code] += 1
        self.server_errors += answer.status_code >= 500
        if answer.status_code != 302:
            return False, None
        page = self.page()
        return page is not None and ADDED[action] in page and body in page, page

    def work(self, stop: float) -> None:
        page = self.page()
        for n in range(POSTS):
            if time.monotonic() > stop:
                return
            action = "note" if n % 2 == 0 else "message"
            body = f"{action} {self.run} {self.number} {n}"
            # The form's token as the page rendered it (a page that has none: a new one each).
            token = form_token(page or "", action) or uuid.uuid4().hex
            added = False
            for _ in range(ATTEMPTS):  # the same form again, token and all
                added, page = self.post(action, body, token)
                if added:
                    break
            self.outcomes[body] = (action, added)
            if page is None:  # an error page: the operator opens the order again
                page = self.page()


def test_notes_and_messages_under_killed_connections(stack, fault_report):
    seed = stack.seed(approved=THREADS)
    run = uuid.uuid4().hex[:8]
    operators = [
        Operator(stack.http, order, logged_in(stack.http, seed["operator_email"]), run, i)
        for i, order in enumerate(seed["approved"])
    ]
    killer = Killer(stack.database_url, interval=0.15)
    killer.start()
    stop = time.monotonic() + DEADLINE
    threads = [threading.Thread(target=o.work, args=(stop,), daemon=True) for o in operators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DEADLINE + 60)
    killer.stop()

    stored = stack.query(
        "from production.models import FulfillmentEvent, OrderNote, OutgoingEmail\n"
        f"notes = OrderNote.objects.filter(body__startswith='note {run} ')\n"
        f"messages = FulfillmentEvent.objects.filter(kind='message', message__startswith="
        f"'message {run} ')\n"
        f"mails = OutgoingEmail.objects.filter(order_id__in={seed['approved']!r}, "
        "kind='customer_message')\n"
        "result = [list(notes.values_list('body', flat=True)), "
        "list(messages.values_list('message', flat=True)), mails.count()]"
    )
    bodies, messages, mails = stored
    counts: dict[str, int] = {}
    for body in [*bodies, *messages]:
        counts[body] = counts.get(body, 0) + 1
    outcomes = {body: added for o in operators for body, (_, added) in o.outcomes.items()}
    lost = sorted(b for b, added in outcomes.items() if added and not counts.get(b))
    failed_but_stored = sorted(b for b, added in outcomes.items() if not added and counts.get(b))
    doubled = sorted(b for b, n in counts.items() if n > 1)

    fault_report.requests = sum(o.requests for o in operators)
    fault_report.server_errors = sum(o.server_errors for o in operators)
    fault_report.faults = killer.killed
    fault_report.count_writes(
        lost=len(lost), doubled=len(doubled), failed_but_stored=len(failed_but_stored)
    )

    statuses = sum((o.statuses for o in operators), Counter())
    print(f"posts answered: {dict(statuses)}; kills: {killer.killed}")
    if fault_report.server_errors:  # why, for the reader of the log
        print("\n".join(line for line in stack.logs().splitlines() if "Error" in line))
    assert killer.killed > 0
    assert len(outcomes) >= THREADS * 4, "too little traffic to say anything"
    assert lost == [], (lost, statuses)
    assert doubled == [], (doubled, statuses)
    assert failed_but_stored == [], (failed_but_stored, statuses)
    assert mails == len(messages)  # one mail per message, none for a resubmission
    # What could not be added in three tries is rare: the kills cut a request, not a whole form.
    assert sum(1 for added in outcomes.values() if not added) <= len(outcomes) // 10, outcomes
