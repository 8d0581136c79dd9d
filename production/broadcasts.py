"""Announcing committed changes to live pages over the channel layer.

Services call `order_changed` inside their transaction; the message leaves only after commit, so a
rolled-back change is never announced, and a failed send is logged without undoing anything.
"""

import logging
from collections.abc import Sequence
from functools import partial
from uuid import UUID

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from production.models import FulfillmentEvent, ProductionOrder

logger = logging.getLogger(__name__)

OPS_GROUP = "ops.orders"


def order_group(order_id: UUID | str) -> str:
    """The group of one order's sockets (letters, digits, '-' and '.' only)."""
    return f"order.{order_id}"


def order_changed(order: ProductionOrder, events: Sequence[FulfillmentEvent]) -> None:
    transaction.on_commit(partial(_send, order.pk, [event.pk for event in events]), robust=True)


def _send(order_id: UUID, event_ids: list[int]) -> None:
    # Imported here: the serializers import the selectors, which import the models.
    from production.api.serializers import EventOutput, OrderOutput
    from production.selectors import get_order_detail

    layer = get_channel_layer()
    if layer is None:
        return
    order = get_order_detail(order_id=order_id)
    if order is None:
        return
    order_json = OrderOutput(order).data
    new_events = [event for event in order.events.all() if event.pk in event_ids]
    try:
        group = order_group(order_id)
        async_to_sync(layer.group_send)(group, {"type": "order.updated", "order": order_json})
        for event in new_events:
            async_to_sync(layer.group_send)(
                group, {"type": "event.created", "event": EventOutput(event).data}
            )
        async_to_sync(layer.group_send)(OPS_GROUP, {"type": "order.updated", "order": order_json})
    except Exception:
        logger.exception("Broadcast of order %s failed; the change itself is committed", order_id)
