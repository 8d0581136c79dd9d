"""Tasks whose worker is gone: found within minutes, run again when that is safe, failed (with
the reason, visibly) when it is not.

django-tasks-db (0.13) marks a claimed task RUNNING with the claiming worker's id, and a worker
killed mid-task (SIGKILL, out of memory, its host lost) leaves it RUNNING for ever: the library
has no heartbeat and no stale-task handling. So each `manage.py task_worker` (db_worker plus a
heartbeat) writes its `ops.models.TaskWorker` row every few seconds, and a task is stale when it
has been RUNNING for TASK_STALE_AFTER_SECONDS under a worker not seen for as long (or never seen:
a plain `db_worker`). A worker that starts again under its old `--worker-id` knows at once that
the tasks still RUNNING under that id lost their worker (an id is unique across the pool).

Whether a stale task may run again is each task's property, written down here (RERUN_SAFE):
- a mail (`deliver_email`) claims its row before connecting and marks it handed over before the
  mail leaves, so running it again never sends a mail twice: one still being connected for is
  released and sent; one handed over stays "in doubt" for a person;
- a refund (`submit_refund`) asks Stripe with the refund's idempotency key, so asking again gets
  the refund already made, never a second one; and it runs at once, not after
  `reconcile_payments`' REFUND_SETTLE_AFTER_MINUTES;
- a job-ticket batch (`build_ticket_batch`) records nothing on the orders before it finishes, so
  it is put back in the queue and built again.
Any other task (a password-reset mail, which may have left; a task this list does not know) is
failed with the reason, logged at ERROR and listed in the admin's *Task results*.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from ops.models import TaskWorker
from ops.tickets import build_ticket_batch, requeue_lost_batch
from payments.refunds import submit_refund
from production import notifications
from production.accounts.password_reset import send_password_reset

logger = logging.getLogger(__name__)

REQUEUED = "requeued"
FAILED = "failed"


def _release_mail(args: list, kwargs: dict) -> None:
    if args:
        notifications.release_claim(args[0])


def _requeue_batch(args: list, kwargs: dict) -> None:
    if args:
        requeue_lost_batch(args[0])


# Tasks that may run again after their worker died mid-task, and what to do first.
RERUN_SAFE: dict[str, Callable[[list, dict], None] | None] = {
    notifications.deliver_email.module_path: _release_mail,
    submit_refund.module_path: None,
    build_ticket_batch.module_path: _requeue_batch,
}
# Why a task that may not run again is failed (the rest: "not known to be safe to run again").
NOT_RERUN: dict[str, str] = {
    send_password_reset.module_path: (
        "the reset mail may already have left; the person can ask for another"
    ),
}


class WorkerLost(Exception):
    """How a task failed by the recovery shows in *Task results* (its exception class)."""


@dataclass(frozen=True)
class Recovered:
    task_id: str
    task_path: str
    worker_id: str
    outcome: str  # REQUEUED or FAILED
    reason: str


def stale_after() -> timedelta:
    return timedelta(seconds=settings.TASK_STALE_AFTER_SECONDS)


def heartbeat_interval() -> float:
    """How often a worker says it is alive: several times within TASK_STALE_AFTER_SECONDS."""
    return max(1.0, settings.TASK_STALE_AFTER_SECONDS / 6)


def beat(worker_id: str, *, now: datetime | None = None) -> None:
    """Record that this worker process is alive."""
    now = now or timezone.now()
    TaskWorker.objects.update_or_create(
        worker_id=worker_id,
        defaults={"hostname": socket.gethostname()[:255], "pid": os.getpid(), "seen_at": now},
        create_defaults={
            "hostname": socket.gethostname()[:255],
            "pid": os.getpid(),
            "seen_at": now,
            "started_at": now,
        },
    )


def forget(worker_id: str) -> None:
    """The worker stopped cleanly: it finished its task, nothing of it is left to recover."""
    TaskWorker.objects.filter(worker_id=worker_id).delete()


def stale_tasks(*, now: datetime | None = None, own_worker_id: str = "") -> list[DBTaskResult]:
    """RUNNING tasks whose worker is gone: running for TASK_STALE_AFTER_SECONDS under a worker
    not seen for as long, or claimed by `own_worker_id` (a worker starting again under its id)."""
    now = now or timezone.now()
    cutoff = now - stale_after()
    running = list(DBTaskResult.objects.running().order_by("started_at"))
    last_ids = {_last_worker(task) for task in running}
    alive = set(
        TaskWorker.objects.filter(worker_id__in=last_ids, seen_at__gte=cutoff).values_list(
            "worker_id", flat=True
        )
    )
    stale = []
    for task in running:
        worker_id = _last_worker(task)
        restarted = bool(own_worker_id) and worker_id == own_worker_id
        abandoned = task.started_at is not None and task.started_at < cutoff
        if restarted or (abandoned and worker_id not in alive):
            stale.append(task)
    return stale


def recover_stale_tasks(*, now: datetime | None = None, own_worker_id: str = "") -> list[Recovered]:
    """Run again, or fail with the reason, each task whose worker is gone."""
    recovered = []
    for task in stale_tasks(now=now, own_worker_id=own_worker_id):
        outcome = _recover(task)
        if outcome is not None:
            recovered.append(outcome)
    return recovered


def oldest_ready_age(*, now: datetime | None = None) -> timedelta | None:
    """How long the oldest due task has waited for a worker (None: none waits). An alert: no
    worker runs, or too few for the load."""
    now = now or timezone.now()
    oldest = (
        DBTaskResult.objects.ready()
        .order_by("enqueued_at")
        .values_list("enqueued_at", "run_after")
        .first()
    )
    if oldest is None:
        return None
    enqueued_at, run_after = oldest
    due_since = enqueued_at if run_after.year == 9999 else max(enqueued_at, run_after)
    return max(timedelta(0), now - due_since)


class Heartbeat(threading.Thread):
    """The worker's thread that writes its TaskWorker row every heartbeat_interval(), while the
    main thread runs tasks (however long one takes). Killed with the process, as it should be."""

    def __init__(self, worker_id: str) -> None:
        super().__init__(name=f"task-worker-heartbeat-{worker_id}", daemon=True)
        self.worker_id = worker_id
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(heartbeat_interval()):
            try:
                beat(self.worker_id)
            except DatabaseError:
                logger.warning("Task worker %s: heartbeat not written", self.worker_id)
            finally:
                connection.close()  # this thread's own connection

    def stop(self) -> None:
        self.stopped.set()


def _last_worker(task: DBTaskResult) -> str:
    return task.worker_ids[-1] if task.worker_ids else ""


def _recover(task: DBTaskResult) -> Recovered | None:
    worker_id = _last_worker(task)
    args = task.args_kwargs.get("args") or []
    kwargs = task.args_kwargs.get("kwargs") or {}
    with transaction.atomic():
        # Still RUNNING, from the same claim: a worker that finished meanwhile keeps its result.
        claim = DBTaskResult.objects.select_for_update().filter(
            pk=task.pk, status=TaskResultStatus.RUNNING, started_at=task.started_at
        )
        if not claim.exists():
            return None
        if task.task_path in RERUN_SAFE:
            prepare = RERUN_SAFE[task.task_path]
            if prepare is not None:
                prepare(args, kwargs)
            claim.update(status=TaskResultStatus.READY, started_at=None)
            outcome, reason = REQUEUED, f"worker {worker_id or '?'} is gone; queued again"
        else:
            reason = NOT_RERUN.get(task.task_path, "not known to be safe to run again")
            reason = f"Worker {worker_id or '?'} is gone mid-task; failed: {reason}."
            claim.update(
                status=TaskResultStatus.FAILED,
                finished_at=timezone.now(),
                return_value=None,
                exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
                traceback=f"{WorkerLost.__qualname__}: {reason}",
            )
            outcome = FAILED
    log = logger.warning if outcome == REQUEUED else logger.error
    log("Task %s (%s) whose worker is gone: %s", task.pk, task.task_path, reason)
    return Recovered(str(task.pk), task.task_path, worker_id, outcome, reason)
