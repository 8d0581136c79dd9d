"""A task worker killed (SIGKILL) mid-task: its supervisor starts it again under the same worker
id, the new process runs the interrupted task again at once, and the mail goes out exactly once."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

import psycopg
import requests

from tests.faults.stack import WORKER_ID, suite_marks

pytestmark = suite_marks()

RUNNING_MAIL = """
    SELECT t.id, w.pid FROM django_tasks_database_dbtaskresult t
    JOIN ops_taskworker w ON w.worker_id = t.worker_ids ->> -1
    WHERE t.status = 'RUNNING' AND t.task_path = 'production.notifications.deliver_email'
"""


def wait_for(read, timeout: float = 30, every: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := read():
            return found
        time.sleep(every)
    raise AssertionError("timed out")


def test_a_worker_killed_while_sending_is_replaced_and_the_mail_sent_once(stack):
    seed = stack.seed(ready=1)
    [order_id] = seed["ready"]
    operator = {"Authorization": f"Token {seed['operator_token']}"}
    with psycopg.connect(stack.database_url, autocommit=True) as database:
        stack.smtp.hang()  # the worker connects, and waits for a greeting
        try:
            patched = requests.patch(
                f"{stack.http}/api/production/{order_id}",
                json={"status": "fulfilled"},
                headers=operator,
                timeout=30,
            )
            assert patched.status_code == 200, patched.text
            task_id, pid = wait_for(lambda: database.execute(RUNNING_MAIL).fetchone())
            os.kill(pid, signal.SIGKILL)  # mid-task: the mail claimed, nothing sent
        finally:
            stack.smtp.answer()

        reference = patched.json()["order"]["reference"]
        subject = f"Your order {reference} is ready"
        wait_for(lambda: any(m["subject"] == subject for m in stack.smtp.messages()), every=0.2)
        time.sleep(3)  # a second copy, if any, would arrive by now
        task = database.execute(
            "SELECT status, return_value, worker_ids FROM django_tasks_database_dbtaskresult "
            "WHERE id = %s",
            [task_id],
        ).fetchone()
        running = database.execute(
            "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status = 'RUNNING'"
        ).fetchone()[0]

    assert Counter(m["subject"] for m in stack.smtp.messages())[subject] == 1, stack.logs()
    # The same task row, run again by the worker's next process under the same id.
    assert task == ("SUCCESSFUL", "sent", [WORKER_ID, WORKER_ID]), stack.logs()
    assert running == 0
