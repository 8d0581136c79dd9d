"""CSV work orders for the shop floor."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from django.db.models import QuerySet
from django.utils import timezone

from production.models import ProductionOrder, Shipment
from production.pricing import format_money

HEADER = [
    "Reference",
    "Created",
    "Order state",
    "Production status",
    "Priority",
    "Due date",
    "ETA days",
    "Customer email",
    "Customer name",
    "Garment",
    "Sizes",
    "Techniques",
    "Total quantity",
    "Total",
    "Currency",
    "Design URL",
    "Customer notes",
    "Shipped quantity",
    "Carrier",
    "Tracking",
]
CHUNK = 1000


def _safe(value: object) -> str:
    """Text a spreadsheet shows as text: a leading = + - @ would otherwise run as a formula."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def order_row(order: ProductionOrder) -> list[str]:
    items = list(order.line_items.all())
    # One cell each for every parcel, in the order they left, matching position for position.
    parcels = [s for s in order.shipments.all() if s.kind == Shipment.Kind.SHIPMENT]
    picked_up = any(s.kind == Shipment.Kind.PICKUP for s in order.shipments.all())
    return [
        _safe(v)
        for v in (
            order.reference,
            timezone.localtime(order.created_at).strftime("%Y-%m-%d %H:%M"),
            order.get_status_display(),
            order.production_status,
            order.get_priority_display(),
            order.due_date.isoformat() if order.due_date else "",
            order.eta_days,
            order.owner.email,
            order.owner.get_full_name(),
            order.garment.name,
            "; ".join(f"{item.size} × {item.quantity}" for item in items),
            "; ".join(sorted({item.get_technique_display() for item in items})),
            order.total_quantity,
            format_money(order.total_amount, order.currency, plain=True),
            order.currency.upper(),
            order.design_url,
            order.notes,
            order.shipped_quantity,
            "; ".join(
                [s.get_carrier_display() for s in parcels] + (["Local pickup"] if picked_up else [])
            ),
            "; ".join(s.tracking_number for s in parcels),
        )
    ]


def csv_lines(orders: QuerySet[ProductionOrder]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(HEADER)
    yield flush()
    # Chunked iteration keeps memory flat; prefetching runs once per chunk, not per order.
    for order in orders.iterator(chunk_size=CHUNK):
        writer.writerow(order_row(order))
        yield flush()
