"""Set up what every process (gunicorn, daphne, the task worker, manage.py) shares: request ids in
log records, the task queue's signal receivers, and tracing when OTEL_ENABLED is on."""

from __future__ import annotations

import atexit
import os

from django.conf import settings

from production.plumbing import request_context


def configure() -> None:
    """Called once per process from the production app's `ready`."""
    request_context.install_log_record_factory()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # A process that ends (daphne, the task worker, a gunicorn worker) hands back its live
        # gauges (open sockets); gunicorn's child_exit does it for a killed worker.
        atexit.register(_hand_back_live_gauges)
    from production.plumbing import tasks  # noqa: F401  (connects the task signals)

    if settings.OTEL_ENABLED:
        from production.plumbing import tracing

        tracing.configure()


def _hand_back_live_gauges() -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(os.getpid())
