"""Messages to the customer and the operators' internal notes on an order."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from django.db import transaction

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


def add_customer_message(
    *, order: ProductionOrder | UUID, author: User | None, body: str, source: EventSource
) -> FulfillmentEvent:
    """Post a message on the customer's timeline (an event like any other change)."""
    body = clean_note(body)
    if not body:
        raise OrderError("A message cannot be empty.", field="message")
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    with transaction.atomic(durable=True):
        locked = lock_order(order_id)
        change = Change(
            kind=FulfillmentEvent.Kind.MESSAGE,
            field="message",
            before=None,
            after=None,
            status=locked.production_status,
            message=body,
        )
        [event] = save_changes(locked, [change], actor=author, source=source)
        notifications.customer_message(event=event)  # mail recorded and queued with the change
    return event


def add_order_note(*, order: ProductionOrder | UUID, author: User | None, body: str) -> OrderNote:
    """Add an internal operator note (never shown to the customer)."""
    body = clean_note(body)
    if not body:
        raise OrderError("A note cannot be empty.", field="note")
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    return OrderNote.objects.create(order_id=order_id, author=author, body=body)
