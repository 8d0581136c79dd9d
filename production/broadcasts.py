"""Announcing committed changes to live pages over the channel layer: the domain's outbox for
sockets, as `production.notifications` is its outbox for e-mail.

Services call `order_changed` inside their transaction; the messages leave only after commit, so a
rolled-back change is never announced, and a failed send is logged without undoing anything.

After commit the change's process sends only `{"type": "order.changed", "order": <id>,
"events": [<ids>]}` to the order's group and to the operators' group: it reads nothing more.
Each process with sockets in that group turns it into the frames (`production.realtime.frames`).
With a shared (Redis) channel layer the send itself leaves the request too, through this
process's sender thread (`_Sender`): the request that made the change (a Stripe webhook delivery,
an operator's PATCH) answers without waiting for Redis (docs/decisions/0040). One thread, first
in first out, so each order's messages keep their order; changes that queue up while it works
leave together. The in-memory layer (one process, `make run`) and hooks run while an outer
transaction is still open (tests wrap the services in one) keep the direct send.

Every group message names its `group`: each process receives it once and fans it out to its own
sockets of that group (`production.realtime.fanout`).
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from uuid import UUID

from asgiref.sync import async_to_sync
from channels.layers import BaseChannelLayer, InMemoryChannelLayer, get_channel_layer
from django.db import connection, transaction

from production.models import FulfillmentEvent, ProductionOrder
from production.plumbing import request_context

logger = logging.getLogger(__name__)

OPS_GROUP = "ops.orders"

# Message types, as the consumers' handlers are named after them (`order.updated` → order_updated).
ORDER_UPDATED = "order.updated"
# Between processes only: "this order changed, with these events". Each process with sockets in
# the group turns it into the frames above (`frames_for`), so the change's own process (a webhook
# delivery, an operator's PATCH) sends a few bytes and reads nothing after its commit.
ORDER_CHANGED = "order.changed"
EVENT_CREATED = "event.created"
SESSION_ENDED = "session.ended"
ACCESS_CHANGED = "access.changed"


def order_group(order_id: UUID | str) -> str:
    """The group of one order's sockets (letters, digits, '-' and '.' only)."""
    return f"order.{UUID(str(order_id))}"


def session_group(session_key: str) -> str:
    """The group of every socket opened with one login session (closed on logout)."""
    return f"session.{session_key}"


def user_group(user_id: int) -> str:
    """The group of every socket of one user (re-checked when their access may have changed)."""
    return f"user.{user_id}"


def order_changed(order: ProductionOrder, events: Sequence[FulfillmentEvent]) -> None:
    """Announce `order` and its new `events` once the current transaction commits."""
    # The request (or task) making the change: the operators' frames carry its id.
    announce = partial(_announce, order.pk, [e.pk for e in events], request_context.current())
    transaction.on_commit(announce, robust=True)


def close_session_sockets(session_key: str | None) -> None:
    """Close the sockets of one login session (on logout). Failures are logged, never raised."""
    layer = get_channel_layer()
    if layer is None or not session_key:
        return
    try:
        group = session_group(session_key)
        async_to_sync(layer.group_send)(group, {"type": SESSION_ENDED, "group": group})
    except Exception:
        logger.exception("Could not close the sockets of a logged-out session")


def recheck_user_sockets(user_ids: Iterable[int]) -> None:
    """Once the current transaction commits, make these users' sockets check their access again
    (deactivated, demoted, password changed: those that lost it close). Failures are logged."""
    user_ids = sorted(set(user_ids))
    if user_ids:
        transaction.on_commit(partial(_send_access_changed, user_ids), robust=True)


def _send_access_changed(user_ids: list[int]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        groups = [user_group(user_id) for user_id in user_ids]
        messages = [(group, {"type": ACCESS_CHANGED, "group": group}) for group in groups]
        _send(layer, messages, "Access re-check")


_held: ContextVar[list[tuple[str, dict]] | None] = ContextVar("held_broadcasts", default=None)


@contextmanager
def held_until_done() -> Iterator[None]:
    """Announce the changes committed inside the block together, when it ends: one event-loop
    hop (under WSGI each `async_to_sync` is a new loop and a new Redis connection) instead of one
    per change. For bulk changes, whose orders each commit on their own, and for a change whose
    answer reads the order before the live pages hear of it (a PATCH: the pages' processes then
    find its JSON cached). Every order's messages are built at its commit, and keep their order."""
    held: list[tuple[str, dict]] = []
    token = _held.set(held)
    try:
        yield
    finally:
        _held.reset(token)
        layer = get_channel_layer()
        if held and layer is not None:
            _send(layer, held, "Broadcast of a bulk change")


def _announce(order_id: UUID, event_ids: list[int], request_id: str | None = None) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    messages = [
        (
            group,
            {
                "type": ORDER_CHANGED,
                "group": group,
                "order": str(order_id),
                "events": ids,
                "requestId": request_id,
            },
        )
        for group, ids in ((order_group(order_id), event_ids), (OPS_GROUP, []))
    ]
    held = _held.get()
    if held is not None:
        held.extend(messages)
    else:
        _send(layer, messages, f"Broadcast of order {order_id}")


# Each is called as `observe(messages, what)` whenever this process hands a batch of messages to
# the channel layer (one event-loop hop, or one hand-over to the sender thread), in the thread that
# hands it over and before the messages leave. For instrumentation and tests: how many hops a bulk
# change costs, what the cache holds when the live pages hear of a change. None in production.
hand_over_observers: list[Callable[[list[tuple[str, dict]], str], None]] = []


def _send(layer: BaseChannelLayer, messages: list[tuple[str, dict]], what: str) -> None:
    """Send after commit; whatever fails (the layer, or async_to_sync itself) is logged only."""
    for observe in hand_over_observers:
        observe(messages, what)
    if _in_background(layer):
        _sender.submit(layer, messages, what)
        return
    try:
        async_to_sync(_send_all)(layer, messages, what)
    except Exception:
        logger.exception("%s failed; the change itself is committed", what)


async def _send_all(layer: BaseChannelLayer, messages: list[tuple[str, dict]], what: str) -> None:
    # One event-loop hop for all messages (under WSGI each async_to_sync makes a new loop, and
    # with it a new Redis connection). In order, so a socket sees the order before its events.
    # Runs after commit: each failed send is logged on its own and undoes nothing.
    for group, message in messages:
        try:
            await layer.group_send(group, message)
        except Exception:
            logger.exception("%s to %s failed; the change itself is committed", what, group)


# --- the sender: after-commit sends off the request's path ---------------------------------------


def _in_background(layer: BaseChannelLayer) -> bool:
    # The in-memory layer lives on the server's own event loop (one process): no other loop may
    # touch it. Hooks run while an outer transaction is still open (a test wrapping the
    # services) send at once, as the test expects.
    return not isinstance(layer, InMemoryChannelLayer) and not connection.in_atomic_block


class _Sender:
    """This process's broadcast thread: sends the messages in the order handed over.

    The thread keeps one event loop, so the channel layer's Redis connections stay open between
    broadcasts (`async_to_sync` in a WSGI worker makes a new loop, and with it a new Redis
    connection, for every call), and the request answers without waiting for Redis.
    One thread, first in first out: each order's messages keep their order, and sends that queue
    up while it works leave in one go. Messages not yet sent when the process exits normally are
    sent first (atexit, up to 5 s); a killed process loses them, as it loses a send in progress
    when it is killed: the change itself is committed and the pages refetch on reconnect.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._pending = 0
        self._thread: threading.Thread | None = None
        self._pid = 0

    def submit(self, layer: BaseChannelLayer, messages: list[tuple[str, dict]], what: str) -> None:
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                # First use, or a forked child (threads do not survive a fork): start one here.
                self._jobs, self._pending, self._pid = queue.SimpleQueue(), 0, os.getpid()
                self._thread = threading.Thread(
                    target=self._run, args=(self._jobs,), name="broadcasts", daemon=True
                )
                self._thread.start()
            self._pending += 1
            self._jobs.put((layer, messages, what))

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def _run(self, jobs: queue.SimpleQueue) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        while True:
            batch = [jobs.get()]
            while True:
                try:
                    batch.append(jobs.get_nowait())
                except queue.Empty:
                    break
            try:
                loop.run_until_complete(_send_batch(batch))
            except Exception:  # never let the thread die: the next change must still leave
                logger.exception("Broadcast of %d change(s) failed", len(batch))
            finally:
                with self._idle:
                    self._pending -= len(batch)
                    self._idle.notify_all()


async def _send_batch(batch: list[tuple[BaseChannelLayer, list[tuple[str, dict]], str]]) -> None:
    for layer, messages, what in batch:
        await _send_all(layer, messages, what)


_sender = _Sender()


def wait_until_sent(timeout: float = 5.0) -> bool:
    """Block until this process has sent every broadcast handed to its sender thread so far."""
    return _sender.wait_idle(timeout)


atexit.register(wait_until_sent)
