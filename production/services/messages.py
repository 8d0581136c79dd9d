"""Messages to the customer and the operators' internal notes on an order."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

from django.db import IntegrityError, transaction

from production import notifications
from production.exceptions import (
    OrderError,
)
from production.lifecycle import (
    EventSource,
)
from production.models import (
    FulfillmentEvent,
    OrderNote,
    ProductionOrder,
)
from production.services.changes import (
    Change,
    clean_note,
    lock_order,
    save_changes,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    User = AbstractBaseUser

Written = TypeVar("Written", OrderNote, FulfillmentEvent)


def add_customer_message(
    *,
    order: ProductionOrder | UUID,
    author: User | None,
    body: str,
    source: EventSource,
    request_key: str = "",
) -> FulfillmentEvent:
    """Post a message on the customer's timeline (an event like any other change).

    `request_key` (the form's one-time token) makes a form posted again one message and one mail:
    the same key on the same order with the same text answers the message it posted; on another
    order or with another text it is refused (OrderError) and nothing is written."""
    body = clean_note(body)
    if not body:
        raise OrderError("A message cannot be empty.", field="message")
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    key = f"message-{request_key}" if request_key else None
    try:
        with transaction.atomic(durable=True):
            locked = lock_order(order_id)
            if key and (existing := FulfillmentEvent.objects.filter(request_key=key).first()):
                return _same_form(existing, existing.message, order_id, body, "message")
            change = Change(
                kind=FulfillmentEvent.Kind.MESSAGE,
                field="message",
                before=None,
                after=None,
                status=locked.production_status,
                message=body,
                request_key=key,
            )
            [event] = save_changes(locked, [change], actor=author, source=source)
            notifications.customer_message(event=event)  # mail recorded and queued with the change
    except IntegrityError:
        # The same key committed by a request on another order that raced this one.
        existing = FulfillmentEvent.objects.filter(request_key=key).first() if key else None
        if existing is None:
            raise
        return _same_form(existing, existing.message, order_id, body, "message")
    return event


def add_order_note(
    *, order: ProductionOrder | UUID, author: User | None, body: str, request_key: str = ""
) -> OrderNote:
    """Add an internal operator note (never shown to the customer).

    `request_key` (the form's one-time token) makes a form posted again one note: the same key on
    the same order with the same text answers the note it added; on another order or with another
    text it is refused (OrderError) and nothing is written. The note is written in a transaction of
    its own, so a connection cut as it commits is checked with the server rather than guessed."""
    body = clean_note(body)
    if not body:
        raise OrderError("A note cannot be empty.", field="note")
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    key = f"note-{request_key}" if request_key else None
    try:
        with transaction.atomic():
            if key and (existing := OrderNote.objects.filter(request_key=key).first()):
                return _same_form(existing, existing.body, order_id, body, "note")
            return OrderNote.objects.create(
                order_id=order_id, author=author, body=body, request_key=key
            )
    except IntegrityError:
        # The same key committed by a request that raced this one.
        existing = OrderNote.objects.filter(request_key=key).first() if key else None
        if existing is None:
            raise
        return _same_form(existing, existing.body, order_id, body, "note")


def _same_form(
    existing: Written, existing_body: str | None, order_id: UUID, body: str, what: str
) -> Written:
    """A form's key seen again: the same order and text is the same post (what it wrote answers);
    anything else is one form used for two posts, refused."""
    if existing.order_id == order_id and existing_body == body:
        return existing
    raise OrderError(
        f"This {what} form was sent already"
        f"{'' if existing.order_id == order_id else ' on another order'}: nothing was added now. "
        f"Reload the order's page to write another {what}.",
        field=what,
    )
