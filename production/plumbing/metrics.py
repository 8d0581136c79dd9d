"""Prometheus metrics counted where things happen (prometheus-client, docs/decisions/0064).

Under gunicorn, daphne and the task worker, set PROMETHEUS_MULTIPROC_DIR (the same directory for
every process of a host, emptied before they start): each process writes its figures to files
there and `/metrics` (ops.metrics) adds them up. Without it (`make run`, tests) the figures live
in this process's default registry.

Figures read from the database (task queue, e-mail, refunds) are not counted here: `/metrics`
reads them when it is scraped (ops.metrics.ShopFigures).

Each call here is a dictionary look-up and a locked add: a few microseconds. With METRICS_ENABLED
off nothing is counted (the request middleware skips its measuring entirely).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from prometheus_client import Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_SECONDS = Histogram(
    "printshop_http_request_duration_seconds",
    "Time to answer an HTTP request, by route (URL name), method and status.",
    ["view", "method", "status"],
    buckets=_LATENCY_BUCKETS,
)
# Per request on average: divide by the route's request count (…_duration_seconds_count).
REQUEST_QUERIES = Counter(
    "printshop_http_request_db_queries",
    "Database queries HTTP requests ran, by route.",
    ["view"],
)
REQUEST_DB_SECONDS = Counter(
    "printshop_http_request_db_seconds",
    "Time HTTP requests spent in database queries, by route.",
    ["view"],
)
CACHE_READS = Counter(
    "printshop_cache_reads_total", "Cache reads (Redis or local memory), by result.", ["result"]
)
_CACHE_HITS, _CACHE_MISSES = CACHE_READS.labels("hit"), CACHE_READS.labels("miss")
WEBHOOKS = Counter(
    "printshop_stripe_webhooks_total",
    "Stripe webhook deliveries, by event type and outcome (paid, duplicate, refused, ...).",
    ["event_type", "outcome"],
)
ORDERS_ENTERED = Counter(
    "printshop_orders_entered_state_total",
    "Orders that entered a state (counted when the change commits).",
    ["state"],
)
TASKS_FINISHED = Counter(
    "printshop_tasks_finished_total",
    "Tasks a task worker finished, by task and status (SUCCESSFUL, FAILED).",
    ["task", "status"],
)
TASK_RETRIES = Counter(
    "printshop_task_retries_total",
    "Tasks that enqueued themselves again (a mail or a refund retried later).",
    ["task"],
)
SOCKETS_OPEN = Gauge(
    "printshop_sockets_open",
    "Live WebSockets open in this process.",
    multiprocess_mode="liveall",
)
SOCKETS_REFUSED = Counter(
    "printshop_sockets_refused_total",
    "Live WebSockets refused or closed by the server, by close code (4429: a user's cap).",
    ["code"],
)
WORK_SECONDS = Histogram(
    "printshop_work_duration_seconds",
    "Time of the slow work done in a request or a task: job-ticket PDFs, the artwork check.",
    ["work"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0),
)
FRAMES_SENT = Counter(
    "printshop_socket_frames_sent_total",
    "Frames written to live WebSockets, by frame type.",
    ["type"],
)


def enabled() -> bool:
    return settings.METRICS_ENABLED


class QueryTally:
    """A `connection.execute_wrapper`: counts the queries run through it and their time."""

    __slots__ = ("count", "seconds")

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute: Callable, sql: str, params: Any, many: bool, context: dict) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.count += 1


# Methods get their own label value; anything else a client sends counts as "other" (a label
# value per made-up method would let anyone grow the metrics without bound).
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The labelled series of each (route, method, status) seen: `labels()` takes a lock and checks
# its arguments every call; this look-up does neither. Bounded by routes × methods × statuses.
_request_series: dict[tuple[str, str, int], tuple[Any, Any, Any]] = {}


def request_finished(
    view: str, method: str, status: int, seconds: float, queries: QueryTally
) -> None:
    series = _request_series.get((view, method, status))
    if series is None:
        label = method if method in _METHODS else "other"
        series = _request_series[(view, method, status)] = (
            REQUEST_SECONDS.labels(view, label, str(status)),
            REQUEST_QUERIES.labels(view),
            REQUEST_DB_SECONDS.labels(view),
        )
    latency, query_count, query_seconds = series
    latency.observe(seconds)
    if queries.count:
        query_count.inc(queries.count)
        query_seconds.inc(queries.seconds)


def cache_read(hits: int, misses: int) -> None:
    if not settings.METRICS_ENABLED:
        return
    if hits:
        _CACHE_HITS.inc(hits)
    if misses:
        _CACHE_MISSES.inc(misses)


def webhook_outcome(event_type: str, outcome: str) -> None:
    if settings.METRICS_ENABLED:
        WEBHOOKS.labels(event_type, outcome).inc()


def order_entered(state: str) -> None:
    """Count an order entering `state` once the current transaction commits (a change rolled
    back was never made)."""
    if settings.METRICS_ENABLED:
        transaction.on_commit(ORDERS_ENTERED.labels(str(state)).inc, robust=True)


def task_finished(task: str, status: str) -> None:
    if settings.METRICS_ENABLED:
        TASKS_FINISHED.labels(task, status).inc()


def task_retried(task: str) -> None:
    if settings.METRICS_ENABLED:
        TASK_RETRIES.labels(task).inc()


def socket_opened() -> None:
    if settings.METRICS_ENABLED:
        SOCKETS_OPEN.inc()


def socket_closed() -> None:
    if settings.METRICS_ENABLED:
        SOCKETS_OPEN.dec()


def socket_refused(code: int) -> None:
    if settings.METRICS_ENABLED:
        SOCKETS_REFUSED.labels(str(code)).inc()


def frames_sent(frame_type: str, count: int) -> None:
    if settings.METRICS_ENABLED and count:
        FRAMES_SENT.labels(frame_type).inc(count)


F = TypeVar("F", bound=Callable[..., Any])


def timed(work: str) -> Callable[[F], F]:
    """Decorate a slow function: its duration goes to `printshop_work_duration_seconds{work}`
    (finished or raised alike)."""

    def decorate(function: F) -> F:
        series = WORK_SECONDS.labels(work)

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not settings.METRICS_ENABLED:
                return function(*args, **kwargs)
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                series.observe(time.perf_counter() - started)

        return wrapper  # type: ignore[return-value]

    return decorate
