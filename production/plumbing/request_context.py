"""The request id: one id per request, carried from the click to the socket frame.

`RequestIdMiddleware` takes the id a trusted proxy set in `X-Request-ID` (only with
`REQUEST_ID_FROM_PROXY` on: any client can send the header), or makes one; it answers it in
the `X-Request-ID` header and keeps it in a context variable for the request's duration. From
there every log line carries it (`install_log_record_factory`: `record.request_id`), the tasks
the request enqueues carry it (`production.plumbing.tasks`), the timeline events it writes keep
it in their metadata for operators (`production.services.changes.record_change`) and the live
frames announcing the change carry it to the operators' sockets (`production.broadcasts`).

The same middleware times the request for Prometheus (`production.plumbing.metrics`): both in one
pass, so the hot path pays for one middleware frame.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse

from production.plumbing import metrics

HEADER = "X-Request-ID"
# What a proxy's id may look like: 1–64 letters, digits, '-', '_', '.', ':'. Anything else (a log
# injection, a huge header) is replaced by our own id.
_VALID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
NO_REQUEST = "-"  # what log lines outside any request or task show

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current() -> str | None:
    """The id of the request (or of the task a request enqueued) this code runs for, if any."""
    return _request_id.get()


_counter = itertools.count()
_prefix = (0, "")  # (pid, random hex): new in each process, forked ones included


def new_id() -> str:
    """32 hex digits, unique across processes: a random prefix per process and a counter (a
    fraction of uuid4's cost, which reads the system's random source every time)."""
    global _prefix
    pid, prefix = _prefix
    if pid != os.getpid():
        _prefix = pid, prefix = os.getpid(), os.urandom(10).hex()
    return f"{prefix}{next(_counter) & 0xFFFFFFFFFFFF:012x}"


@contextmanager
def bound(request_id: str | None) -> Iterator[None]:
    """Run the block as part of `request_id` (a task run for a request, a test)."""
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


def bind(request_id: str | None) -> None:
    """Set the id for what this context runs from now on (a task worker between tasks)."""
    _request_id.set(request_id)


def incoming_id(request: HttpRequest) -> str:
    """The proxy's `X-Request-ID` when it is trusted and well-formed, otherwise a new id."""
    if settings.REQUEST_ID_FROM_PROXY:
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        if _VALID.fullmatch(given):
            return given
    return new_id()


def install_log_record_factory() -> None:
    """Give every log record a `request_id` attribute (the current id, or "-"), whichever handler
    formats it (console, JSON, pytest's caplog). Installed once per process (apps' ready)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "adds_request_id", False):
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = _request_id.get() or NO_REQUEST
        return record

    factory.adds_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class RequestIdMiddleware:
    """First in MIDDLEWARE: the request id for everything below it, and the request's figures
    (latency by route and status, database queries and their time) when metrics are on."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = incoming_id(request)
        request.request_id = request_id
        token = _request_id.set(request_id)
        try:
            if not settings.METRICS_ENABLED:
                response = self.get_response(request)
            else:
                response = self._measured(request)
        finally:
            _request_id.reset(token)
        response[HEADER] = request_id
        return response

    def _measured(self, request: HttpRequest) -> HttpResponse:
        queries = metrics.QueryTally()
        started = time.perf_counter()
        with connections["default"].execute_wrapper(queries):
            response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = request.resolver_match
        route = (match.view_name or match.route) if match is not None else "unmatched"
        status = response.status_code
        metrics.request_finished(route, request.method or "", status, elapsed, queries)
        return response
