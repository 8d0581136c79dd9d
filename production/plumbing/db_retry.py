"""One more try for a request whose database connection was cut from under it.

A connection can die mid-request: PostgreSQL restarted or failed over, a pooler recycled it, an
administrator ran `pg_terminate_backend`. Idle connections are caught before use
(`CONN_HEALTH_CHECKS`, the pool's check); one cut while the view runs fails that view with an
OperationalError. What the view did in the transaction that failed was not committed (the server
rolls back a transaction whose connection is gone), so the view runs again on a new connection (up
to RETRIES times) instead of answering 500 — as long as nothing else it did was committed either.

The PostgreSQL backend (`production.plumbing.postgres`) keeps that true where it can: a COMMIT
whose answer
was lost is checked with the server (made: the view goes on; not made: it may run again), a read
after a commit is sent again on its own, and `committed_writes` counts what was committed. A view
that lost its connection after committing something is not run again, since that would repeat
what it committed, unless it is marked `rerun_safe` (its writes are idempotent: webhook events by
id, creation by Idempotency-Key); it fails as any error does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
RETRIES = 2  # a restart or failover can cut the first new connection too

View = TypeVar("View", bound=Callable)


def lost_connection_error(error: BaseException) -> bool:
    """True when `error` says the database connection itself was lost, not a deadlock, a lock
    timeout or a constraint: PostgreSQL's connection-exception (08) and shutdown (57P) codes, or no
    code at all (the client found the socket closed)."""
    if not isinstance(error, OperationalError | InterfaceError):
        return False
    cause = error.__cause__
    if not hasattr(cause, "sqlstate"):  # not psycopg's (SQLite's "locked" is no lost connection)
        return False
    return cause.sqlstate is None or cause.sqlstate.startswith(("08", "57P"))


def connection_lost(error: BaseException) -> bool:
    """True when `error` is a lost connection outside any transaction (inside one, its owner
    decides), so the request may run again: the error is raised on to RetryOnLostConnection."""
    return not connection.in_atomic_block and lost_connection_error(error)


def rerun_safe(view: View) -> View:
    """Mark a view whose writes are idempotent: it may run again after a lost connection even
    when it had committed some of them."""
    view.db_rerun_safe = True
    return view


def mark_rerun_safe(request: HttpRequest) -> None:
    """Mark one request whose writes are idempotent (keyed by its form's one-time token), where its
    view as a whole is not: it may run again as a `rerun_safe` view may."""
    request.db_rerun_safe = True


def _committed(request: HttpRequest) -> int:
    return getattr(connection, "committed_writes", 0) - request.db_commits_at_start


def database_unavailable(request: HttpRequest, error: BaseException | None) -> bool:
    """True when `error`, which failed `request` (after its runs again), is a lost or refused
    database connection and the request committed nothing, or may run again anyway (rerun
    safe): it may be sent again (503)."""
    if error is None or not lost_connection_error(error):
        return False
    if not hasattr(request, "db_commits_at_start"):  # failed before its view: nothing written
        return True
    return not _committed(request) or getattr(request, "db_rerun_safe", False)


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
        request.db_commits_at_start = getattr(connection, "committed_writes", 0)
        if replayable and request.method in BODY_METHODS:
            request.body  # noqa: B018 (read and kept by Django)

    def process_exception(self, request: HttpRequest, error: Exception) -> HttpResponse | None:
        match = request.resolver_match
        view = match.func
        # A class-based view is marked on its class (`view_class`: Django's and DRF's as_view).
        safe = (
            getattr(view, "db_rerun_safe", False)
            or getattr(getattr(view, "view_class", None), "db_rerun_safe", False)
            or getattr(request, "db_rerun_safe", False)
        )
        request.db_rerun_safe = safe  # so a last failure may answer 503 (database_unavailable)
        while connection_lost(error) and getattr(request, "db_retries_left", 0) > 0:
            if not safe and _committed(request):
                logger.error(
                    "Database connection lost in %s %s after it committed a change: "
                    "not run again, which would repeat it",
                    request.method,
                    request.path,
                )
                break
            request.db_retries_left -= 1
            logger.warning("Database connection lost in %s %s: again", request.method, request.path)
            connection.close()  # a new one for the next run, whatever state this one is in
            request.db_commits_at_start = getattr(connection, "committed_writes", 0)
            try:
                return view(request, *match.args, **match.kwargs)
            except Exception as again:
                if not connection_lost(again):
                    raise
                error = again
        return None
