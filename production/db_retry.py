"""One more try for a request whose database connection was cut from under it.

A connection can die mid-request: PostgreSQL restarted or failed over, a pooler recycled it, an
administrator ran `pg_terminate_backend`. Idle connections are caught before use
(`CONN_HEALTH_CHECKS`, the pool's check); one cut while the view runs fails that view with an
OperationalError. Nothing it did in the transaction that failed was committed (the server rolls
back a transaction whose connection is gone), so the view runs again on a new connection (up to
RETRIES times) instead of answering 500.

Left open (docs/decisions.md): a connection cut after the server committed but before it
acknowledged the COMMIT makes the retry repeat a committed change. The writes that matter are
idempotent on their own (webhook events by id, order creation by Idempotency-Key, a state move to
the state it already has); a note or message could be stored twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RETRIES = 2  # a restart or failover can cut the first new connection too


def connection_lost(error: BaseException) -> bool:
    """True when `error` says the database connection itself was lost, not a deadlock, a lock
    timeout or a constraint. Django has already replaced the connection by then, so the error is
    read, not the connection: PostgreSQL's connection-exception (08) and shutdown (57P) codes, or
    no code at all (the client found the socket closed)."""
    if not isinstance(error, OperationalError | InterfaceError) or connection.in_atomic_block:
        return False
    cause = error.__cause__
    if not hasattr(cause, "sqlstate"):  # not psycopg's (SQLite's "locked" is no lost connection)
        return False
    return cause.sqlstate is None or cause.sqlstate.startswith(("08", "57P"))


class RetryOnLostConnection:
    """Run the view once more when its database connection was cut (see the module docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable, args: tuple, kwargs: dict[str, Any]
    ) -> None:
        # Keep the body, so another run can read it again. Uploads stream and are not kept: a
        # view reading one is not run twice.
        replayable = request.method not in BODY_METHODS or request.content_type != (
            "multipart/form-data"
        )
        request.db_retries_left = RETRIES if replayable else 0
        if replayable and request.method in BODY_METHODS:
            request.body  # noqa: B018 (read and kept by Django)

    def process_exception(self, request: HttpRequest, error: Exception) -> HttpResponse | None:
        match = request.resolver_match
        while connection_lost(error) and getattr(request, "db_retries_left", 0) > 0:
            request.db_retries_left -= 1
            logger.warning("Database connection lost in %s %s: again", request.method, request.path)
            connection.close()  # a new one for the next run, whatever state this one is in
            try:
                return match.func(request, *match.args, **match.kwargs)
            except Exception as again:
                if not connection_lost(again):
                    raise
                error = again
        return None
