"""gunicorn's settings file (`gunicorn -c config/gunicorn_conf.py config.wsgi:application ...`):
only the Prometheus bookkeeping of multiprocess mode (docs/operations.md#observability); every
other setting stays on the command line.

A worker that exits (recycled, killed) hands back its live gauges, so a scrape does not count the
sockets or requests of a process that is gone. The directory itself is emptied by whatever starts
the processes (the supervisor), before they start.
"""

import os

# Imported here, in the master at start: child_exit runs in its SIGCHLD handler, where a first
# import could be interrupted by the next worker's exit (a half-imported module).
from prometheus_client import multiprocess


def child_exit(server: object, worker: object) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
