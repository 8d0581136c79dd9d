from typing import Any

from django.core.management.base import BaseCommand

from ops import task_recovery
from production import notifications


class Command(BaseCommand):
    help = (
        "Find tasks left RUNNING by a task worker that is gone (not seen for "
        "TASK_STALE_AFTER_SECONDS) and queue them again when that is safe (mail, refunds, job "
        "tickets), or fail them with the reason. Then print the queue's alert figures. Run it "
        "every minute from cron; `task_worker` also runs it when it starts."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        recovered = task_recovery.recover_stale_tasks()
        for task in recovered:
            self.stdout.write(f"{task.task_id} {task.task_path}: {task.outcome} ({task.reason})")
        requeued = sum(task.outcome == task_recovery.REQUEUED for task in recovered)
        self.stdout.write(f"{requeued} re-queued, {len(recovered) - requeued} failed")
        age = task_recovery.oldest_ready_age()
        waited = "none waiting" if age is None else f"{int(age.total_seconds())} s"
        self.stdout.write(f"oldest ready task: {waited}")
        self.stdout.write(f"mail in doubt: {notifications.in_doubt().count()}")
