"""Reads for the ops dashboard. Each page runs a fixed number of queries, whatever it shows."""

from __future__ import annotations

from uuid import UUID

from django.db.models import Count, Prefetch, QuerySet

from production.lifecycle import OrderState
from production.models import FulfillmentEvent, LineItem, OrderNote, ProductionOrder

# Only what a list row shows: 100k-order tables make row width matter.
LIST_FIELDS = (
    "id",
    "reference",
    "status",
    "production_status",
    "priority",
    "total_quantity",
    "created_at",
    "due_date",
    "garment__name",
    "owner__email",
    "owner__first_name",
    "owner__last_name",
)


def order_list_queryset() -> QuerySet[ProductionOrder]:
    """Every order, with its garment and customer joined in (no query per row)."""
    return ProductionOrder.objects.select_related("garment", "owner").only(*LIST_FIELDS)


def export_queryset() -> QuerySet[ProductionOrder]:
    """Every order with what a work order sheet needs, line items included."""
    return ProductionOrder.objects.select_related("garment", "owner").prefetch_related(
        Prefetch("line_items", queryset=LineItem.objects.order_by("id"))
    )


def status_counts(queryset: QuerySet[ProductionOrder]) -> dict[str, int]:
    """How many of `queryset`'s orders are in each state (one grouped query)."""
    counts = dict.fromkeys(OrderState.values, 0)
    rows = queryset.order_by().values_list("status").annotate(n=Count("*"))
    counts.update(dict(rows))
    return counts


def get_ops_order(*, order_id: UUID | str) -> ProductionOrder | None:
    """One order with everything its ops page shows, in a fixed number of queries."""
    return (
        ProductionOrder.objects.select_related("garment", "owner")
        .prefetch_related(
            Prefetch("line_items", queryset=LineItem.objects.order_by("id")),
            Prefetch(
                "events",
                queryset=FulfillmentEvent.objects.select_related("actor").order_by(
                    "occurred_at", "id"
                ),
            ),
            Prefetch(
                "notes_log",
                queryset=OrderNote.objects.select_related("author").order_by("created_at", "id"),
            ),
        )
        .filter(pk=order_id)
        .first()
    )
