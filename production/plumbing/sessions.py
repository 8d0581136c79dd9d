"""The session engine: Django's cached_db sessions, saved again when the connection is cut.

A session is saved after the view, in SessionMiddleware's response step, outside what
`db_retry.RetryOnLostConnection` can run again. Django turns any database error of that save into
`UpdateError`, and SessionMiddleware answers it 400 (`SessionInterrupted`): with the connection cut
between the view's commit and the save, an operator's note was stored and answered 400. The save
writes the whole session under its key, so writing it again on a new connection is safe: it is
tried again (up to `db_retry.RETRIES` times) when the connection was lost, and fails as before
otherwise.
"""

from __future__ import annotations

import logging

from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.base import UpdateError
from django.db import DatabaseError, connections, router

from production.plumbing.db_retry import RETRIES, lost_connection_error

logger = logging.getLogger("production.plumbing.db_retry")


class SessionStore(cached_db.SessionStore):
    def save(self, must_create: bool = False) -> None:
        connection = connections[router.db_for_write(self.model)]
        retries = RETRIES
        while True:
            try:
                return super().save(must_create=must_create)
            except (UpdateError, DatabaseError) as error:
                # Django raises UpdateError from the DatabaseError of the UPDATE.
                cause = error.__context__ if isinstance(error, UpdateError) else error
                if not retries or connection.in_atomic_block or not lost_connection_error(cause):
                    raise
                retries -= 1
                logger.warning("Database connection lost as the session was saved: again")
                connection.close()
