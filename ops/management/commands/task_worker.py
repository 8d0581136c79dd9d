"""`manage.py task_worker`: django-tasks-db's `db_worker` (same options), which first recovers
the tasks whose worker is gone (its own earlier process's, under a stable `--worker-id`, at
once) and says it is alive while it runs (ops.task_recovery)."""

from contextlib import suppress
from typing import Any

from django.db import DatabaseError
from django_tasks_db.management.commands import db_worker

from ops import task_recovery


class Command(db_worker.Command):
    help = (
        "Run a database task worker (db_worker's options), with a heartbeat, after queueing again "
        "or failing the tasks whose worker is gone. Give each supervised worker a stable "
        "--worker-id, so a restarted one recovers its own interrupted task at once."
    )

    def handle(self, *args: Any, worker_id: str, **options: Any) -> None:
        task_recovery.beat(worker_id)
        for task in task_recovery.recover_stale_tasks(own_worker_id=worker_id):
            self.stdout.write(f"{task.task_id} {task.task_path}: {task.outcome} ({task.reason})")
        heartbeat = task_recovery.Heartbeat(worker_id)
        heartbeat.start()
        try:
            super().handle(*args, worker_id=worker_id, **options)
        finally:
            heartbeat.stop()
            with suppress(DatabaseError):  # its row then just ages out
                task_recovery.forget(worker_id)
