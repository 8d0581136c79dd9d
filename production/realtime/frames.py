"""The frames a live page receives, built where its sockets are.

A change's process announces only `{"type": "order.changed", "order": <id>, "events": [<ids>]}`
(`production.broadcasts`). Each process with sockets in that group turns it into the frames once,
whatever its socket count (`frames_for`, which `production.realtime.fanout` calls as the
`order.changed` expander registered below): the order is serialized and encoded once per change
and process, not once per socket, and not at all where nobody listens.
"""

from __future__ import annotations

from uuid import UUID

from channels.db import database_sync_to_async

from production.broadcasts import EVENT_CREATED, OPS_GROUP, ORDER_CHANGED, ORDER_UPDATED
from production.lifecycle import (
    OrderFacts,
    OrderState,
    Priority,
    ProductionStatus,
    operator_words,
)
from production.plumbing.json_bytes import dumps
from production.realtime import fanout
from production.selectors import get_order_json


def frame(message_type: str, **payload: object) -> str:
    """One WebSocket text frame, encoded as the API encodes its JSON (same bytes for the order)."""
    return dumps({"type": message_type, **payload}).decode()


def frames_for(change: dict) -> list[dict]:
    """The messages an `order.changed` becomes for its group's sockets, read once per process
    that has sockets in that group (`production.realtime.fanout` calls it): the order as GET
    /api/production/<id> serves it (the read warms its cache for the clients that refetch) and
    its new events for the order's group, the order's row for the operators'."""
    order_json = get_order_json(order_id=UUID(change["order"]))
    if order_json is None:
        return []
    group = change["group"]
    if group == OPS_GROUP:
        # The list row: no timeline, and no ship-to address (personal data, not for the list).
        row = {key: value for key, value in order_json.items() if key not in ("events", "shipping")}
        row.update(operator_row_words(order_json))
        # Operators see which request made the change (support searches the logs by it); the
        # customers' frames do not carry it.
        return [message(group, ORDER_UPDATED, order=row, requestId=change.get("requestId"))]
    # The events are already serialized inside the order: reuse them instead of a second pass.
    events_by_id = {str(event["id"]): event for event in order_json["events"]}
    return [message(group, ORDER_UPDATED, order=order_json)] + [
        message(group, EVENT_CREATED, event=events_by_id[str(pk)])
        for pk in change["events"]
        if str(pk) in events_by_id
    ]


def operator_row_words(order: dict) -> dict:
    """The ops list's words for a pushed row (`opsStatusText`, `opsChangesRequested`), from the
    rulebook as the server-rendered list has them, so static/js/ops.js writes none of its own."""
    proofs = order.get("proofs") or []
    waiting = next((p["revision"] for p in proofs if p["state"] == "waiting"), None)
    asked = (
        order["orderStatus"] == OrderState.SUBMITTED
        and waiting is None
        and bool(proofs)
        and proofs[-1]["state"] == "changes_requested"
    )
    priority = next((p for p in Priority if p.label == order["priority"]), Priority.STANDARD)
    facts = OrderFacts(
        OrderState(order["orderStatus"]),
        ProductionStatus(order["status"]),
        priority,
        waiting,
        order.get("shippedQuantity") or 0,
    )
    status, _ = operator_words(
        facts,
        delivery=order.get("delivery") or "",
        changes_requested=asked,
        pickup_told=bool(order.get("pickupReadyAt")),
        total_quantity=order.get("totalQuantity") or 0,
    )
    return {"opsStatusText": status, "opsChangesRequested": asked}


async def _frames(change: dict) -> list[dict]:
    return await database_sync_to_async(frames_for)(change)


fanout.expanders[ORDER_CHANGED] = _frames


def message(group: str, message_type: str, **payload: object) -> dict:
    """A group message: its type, its group (for `production.realtime.fanout`) and the finished
    frame."""
    return {"type": message_type, "group": group, "text": frame(message_type, **payload)}
