"""Django's PostgreSQL backend, made safe to retry when a connection is cut mid-request.

`production.plumbing.db_retry` runs a view again when its connection was lost. That is safe only
while
nothing the view did was committed, so this backend keeps count of what it committed and repairs
the two moments where a cut connection would otherwise hide a commit:

- *The COMMIT's answer is lost.* The server may have committed before the connection died. Before
  a transaction that wrote commits, its id is read (`pg_current_xact_id_if_assigned()`, one round
  trip); when the COMMIT then fails on a lost connection, a new connection asks the server what
  became of that id (`pg_xact_status`). Committed: the commit succeeded and the view goes on, on
  the new connection, with its on-commit hooks. Aborted: the error is raised as before, and the
  view may run again. Unknown (no new connection): the error is raised, counted as a commit that
  may have been made, so the view is not re-run.
- *PgBouncer's two errors.* Behind PgBouncer, a server connection cut during a COMMIT reaches
  the client as two errors (the server's FATAL and PgBouncer's "server conn crashed?"), which
  psycopg reports as InternalError "received 2 results from command 'COMMIT'". An error raised
  on a connection psycopg then finds broken counts as a lost connection, whatever its class.
- *A read after the commit is cut.* A SELECT outside any transaction (autocommit) changes
  nothing, so it is sent again on a new connection (up to db_retry.RETRIES times) rather than
  failing the view, which could only be re-run by repeating what it committed.

`committed_writes` counts write transactions (and write statements outside a transaction) that
committed or may have; the middleware compares it before and after a view.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import psycopg
from django.db import DatabaseError, OperationalError
from django.db.backends.postgresql import base

from production.plumbing.db_retry import RETRIES, lost_connection_error

logger = logging.getLogger("production.plumbing.db_retry")

# Statements that change nothing: a transaction of only these needs no id to check its commit.
READS = ("SELECT", "SAVEPOINT", "RELEASE", "SHOW", "SET ")
STATUS_WAIT = 2.0  # seconds to wait for the server to finish with a cut-off transaction
# Seconds a request waits for a new connection once its own was cut: a pooler or server restart
# takes about a second, and a request that committed can only finish (ask its COMMIT's outcome,
# read its answer) on a new connection.
RECONNECT_WAIT = 3.0


def _reads(sql: object) -> bool:
    # "(SELECT …) UNION ALL (SELECT …)" reads too (the board's queries).
    return isinstance(sql, str) and sql.lstrip(" \t\n(")[:9].upper().startswith(READS)


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.committed_writes = 0
        self._wrote = False  # the open transaction has run a statement that changes something
        self.execute_wrappers.append(self._watch)

    def _watch(
        self, execute: Callable, sql: Any, params: Any, many: bool, context: dict[str, Any]
    ) -> Any:
        reads = not many and _reads(sql)
        if self.in_atomic_block or not self.autocommit:
            self._wrote = self._wrote or not reads
            try:
                return execute(sql, params, many, context)
            except DatabaseError as error:
                lost = self._as_lost(error)
                if lost is error:
                    raise
                raise lost from lost.__cause__
        retries = RETRIES
        while True:
            try:
                result = execute(sql, params, many, context)
            except DatabaseError as caught:
                error = self._as_lost(caught)
                if not lost_connection_error(error):
                    raise
                if not reads:  # a statement that commits on its own: made or not, who knows
                    self.committed_writes += 1
                    self.close()  # the next statement opens a new connection
                    raise error from error.__cause__
                if not retries:
                    raise error from error.__cause__
                retries -= 1
                logger.warning("Database connection lost during a read: read again")
                cursor = context["cursor"]
                name = getattr(cursor.cursor, "name", None)  # a server-side cursor's
                self._reconnect()
                cursor.cursor = self.create_cursor(name)
                continue
            if not reads:
                self.committed_writes += 1
            return result

    def _as_lost(self, error: DatabaseError) -> DatabaseError:
        """`error`, or a lost-connection OperationalError in its place when psycopg found the
        connection broken while raising something else (PgBouncer's two errors, above)."""
        raw = self.connection
        if lost_connection_error(error) or raw is None or not getattr(raw, "broken", False):
            return error
        lost = OperationalError(f"connection lost: {error}")
        lost.__cause__ = psycopg.OperationalError(str(error))  # no SQLSTATE: the socket closed
        return lost

    def connect(self) -> None:
        self._wrote = False
        super().connect()

    def _rollback(self) -> None:
        self._wrote = False
        super()._rollback()

    def _commit(self) -> None:
        wrote, self._wrote = self._wrote, False
        if not wrote or self.connection is None:
            try:
                return super()._commit()
            except DatabaseError as caught:
                error = self._as_lost(caught)
                if error is caught:
                    raise
                raise error from error.__cause__
        with self.wrap_database_errors:
            (xid,) = self.connection.execute(
                "SELECT pg_current_xact_id_if_assigned()::text"
            ).fetchone()
        try:
            super()._commit()
        except DatabaseError as caught:
            error = self._as_lost(caught)
            if xid is None or not lost_connection_error(error):
                if error is caught:
                    raise
                raise error from error.__cause__
            status = self._status_after_loss(xid)
            if status != "committed":
                if status is None:  # it may have been made
                    self.committed_writes += 1
                if error is caught:
                    raise
                raise error from error.__cause__
            logger.warning("Database connection lost as it committed; the commit was made")
        if xid is not None:
            self.committed_writes += 1

    def _reconnect(self) -> None:
        """A new connection in place of a cut one, waiting up to RECONNECT_WAIT for a server or
        pooler that refuses connections while it restarts."""
        self.close()
        deadline = time.monotonic() + RECONNECT_WAIT
        while True:
            try:
                self.ensure_connection()
                return
            except DatabaseError as error:
                if not lost_connection_error(error) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)

    def _status_after_loss(self, xid: str) -> str | None:
        """What became of transaction `xid`, asked on a new connection (which this wrapper then
        keeps, with the on-commit hooks of the transaction): "committed", "aborted", or None
        when the server cannot be asked."""
        hooks = self.run_on_commit
        try:
            self._reconnect()
            deadline = time.monotonic() + STATUS_WAIT
            while True:
                with self.wrap_database_errors:
                    (status,) = self.connection.execute(
                        "SELECT pg_xact_status(%s::xid8)", [xid]
                    ).fetchone()
                if status != "in progress" or time.monotonic() > deadline:
                    break
                time.sleep(0.02)  # the cut-off server process is still finishing it
        except DatabaseError:
            logger.exception("Database connection lost as it committed; could not ask the outcome")
            return None
        finally:
            self.run_on_commit = hooks
        return status if status in {"committed", "aborted"} else None
