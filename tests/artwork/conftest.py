import pytest


@pytest.fixture
def task_worker(db, monkeypatch):
    """The artwork worker: `manage.py task_worker --queue-name artwork --batch`, in this test's
    transaction; returns what the tasks returned (the verdicts)."""
    from tests.task_queue import run_worker

    return lambda: run_worker(monkeypatch, queue_name="artwork")
