import pytest


@pytest.fixture
def task_worker(db, monkeypatch):
    """The artwork worker: `manage.py task_worker --queue-name artwork --batch`, in this test's
    transaction; returns what the tasks returned (the verdicts)."""
    from django.core.management import call_command
    from django_tasks import TaskResultStatus
    from django_tasks_db.management.commands import db_worker
    from django_tasks_db.models import DBTaskResult

    from tests.task_queue import _SIGNALS

    def run() -> list[object]:
        import signal

        finished = DBTaskResult.objects.filter(finished_at__isnull=False)
        before = set(finished.values_list("pk", flat=True))
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
                queue_name="artwork",
            )
        finally:
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
        ran = finished.exclude(pk__in=before)
        failed = [r.traceback for r in ran if r.status == TaskResultStatus.FAILED]
        assert not failed, "\n".join(failed)
        return [r.return_value for r in ran.order_by("finished_at", "started_at")]

    return run
