"""The task queue in tests: run what the worker would run, and let time pass."""

from __future__ import annotations

import signal
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management import call_command
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from production import notifications
from production.models import OutgoingEmail

_SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGQUIT]


def run_worker(monkeypatch, queue_name: str = "default") -> list[object]:
    """`manage.py db_worker --batch`: run every task of `queue_name` that is due, in this test's
    transaction. Returns what the tasks returned, in the order they ran; a task that raised fails
    the test."""
    finished = DBTaskResult.objects.filter(finished_at__isnull=False)
    before = set(finished.values_list("pk", flat=True))
    # The worker closes "old" connections between tasks; here that is the test's own transaction.
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    handlers = {signum: signal.getsignal(signum) for signum in _SIGNALS}
    try:
        call_command(
            "db_worker",
            batch=True,
            reload=False,
            startup_delay=False,
            interval=0,
            verbosity=0,
            queue_name=queue_name,
        )
    finally:
        for signum, handler in handlers.items():  # the worker installs its own on start
            signal.signal(signum, handler)
    ran = finished.exclude(pk__in=before)
    failed = [r.traceback for r in ran if r.status == TaskResultStatus.FAILED]
    assert not failed, "\n".join(failed)
    return [r.return_value for r in ran.order_by("finished_at", "started_at")]


def waiting_tasks(task) -> list[DBTaskResult]:
    """This task's queued runs (due now or later)."""
    return list(
        DBTaskResult.objects.filter(status=TaskResultStatus.READY, task_path=task.module_path)
    )


def time_passes() -> None:
    """Everything waiting for a later time is due now: queued tasks, the mails' next tries, and
    the end of a mail-server outage the worker noticed."""
    now = timezone.now()
    notifications.server_down_until = None
    DBTaskResult.objects.filter(status=TaskResultStatus.READY).update(run_after=now)
    OutgoingEmail.objects.filter(sent_at__isnull=True).update(next_attempt_at=now)


@contextmanager
def silent_smtp_server() -> Iterator[int]:
    """A mail server that accepts connections and never answers: yields its port. The kernel
    completes the TCP handshake for the listen backlog, so a client connects, then waits for a
    greeting that never comes."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]
