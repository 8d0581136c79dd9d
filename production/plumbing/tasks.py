"""The task queue's backend: django_tasks_db's, each task row keeping the request id of whatever
enqueued it, so the worker logs the task's lines under the id of the request that asked for it.

The id rides in the row's `args_kwargs` JSON beside the task's arguments (`"request_id"`), which
the task never sees: no task signature changes, no extra query when enqueueing. The worker reads
it back when the task starts (`task_started`, one small query) and forgets it when it ends
(`task_finished`), and counts each finished task for Prometheus. A task that enqueues its own
kind again (a mail or a refund retried later) counts as a retry.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django.dispatch import receiver
from django_tasks_db import DatabaseBackend as _DatabaseBackend
from django_tasks_db.compat import normalize_json, task_finished, task_started

from production.plumbing import metrics, request_context

# The task the current worker runs (its module path), to recognise a task enqueueing itself.
_running_task: ContextVar[str | None] = ContextVar("running_task", default=None)

KEY = "request_id"


class DatabaseBackend(_DatabaseBackend):
    """django_tasks_db's DatabaseBackend; the row also holds the current request id."""

    def _task_to_db_task(self, task: Any, args: Any, kwargs: Any) -> Any:
        from django_tasks_db.models import DBTaskResult

        # django_tasks_db's own insert (0.13), with the request id in the arguments' JSON.
        return DBTaskResult.objects.create(
            id=self._get_id(),
            args_kwargs=_args_kwargs(task, args, kwargs),
            priority=task.priority,
            task_path=task.module_path,
            queue_name=task.queue_name,
            run_after=task.run_after,
            backend_name=self.alias,
        )

    async def _atask_to_db_task(self, task: Any, args: Any, kwargs: Any) -> Any:
        from django_tasks_db.models import DBTaskResult

        return await DBTaskResult.objects.acreate(
            id=self._get_id(),
            args_kwargs=_args_kwargs(task, args, kwargs),
            priority=task.priority,
            task_path=task.module_path,
            queue_name=task.queue_name,
            run_after=task.run_after,
            backend_name=self.alias,
        )


def _args_kwargs(task: Any, args: Any, kwargs: Any) -> dict:
    if _running_task.get() == task.module_path:
        metrics.task_retried(task.module_path)
    stored = normalize_json({"args": args, "kwargs": kwargs})
    request_id = request_context.current()
    if request_id:
        stored[KEY] = request_id
    return stored


def request_id_of(task_result_id: str) -> str | None:
    """The request id a queued task was enqueued under (None: none, or no such task)."""
    from django_tasks_db.models import DBTaskResult

    args_kwargs = (
        DBTaskResult.objects.filter(pk=task_result_id).values_list("args_kwargs", flat=True).first()
    )
    return (args_kwargs or {}).get(KEY)


@receiver(task_started)
def _task_started(sender: type, task_result: Any, **kwargs: Any) -> None:
    # The worker sends this in the thread that then runs the task, just before calling it.
    request_context.bind(request_id_of(task_result.id))
    _running_task.set(task_result.task.module_path)


@receiver(task_finished)
def _task_finished(sender: type, task_result: Any, **kwargs: Any) -> None:
    metrics.task_finished(task_result.task.module_path, str(task_result.status))
    request_context.bind(None)
    _running_task.set(None)
