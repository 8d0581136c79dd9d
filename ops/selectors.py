"""Reads for the ops dashboard. Each page runs a fixed number of queries, whatever it shows."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Prefetch, QuerySet

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


@dataclass(frozen=True)
class StateCounts:
    """Orders per state, each counted up to `cap` (a count above it reads "cap+")."""

    counts: dict[str, int]
    cap: int

    def exact(self, state: str) -> bool:
        return self.counts[state] <= self.cap

    def label(self, state: str) -> str:
        return f"{self.cap:,}+" if not self.exact(state) else f"{self.counts[state]:,}"

    def label_total(self) -> str:
        total = self.total()
        return f"{total:,}" if total is not None else f"{self.cap:,}+"

    def total(self, states: list[str] | None = None) -> int | None:
        """How many orders are in `states` (default: all), or None when it is over the cap."""
        states = states or list(self.counts)
        if not all(self.exact(state) for state in states):
            return None
        return sum(self.counts[state] for state in states)


_ANY_STATE = "\x00state"


def status_counts(queryset: QuerySet[ProductionOrder], *, cap: int) -> StateCounts:
    """How many of `queryset`'s orders are in each state, in one statement.

    Each state's count stops at cap + 1 rows, so a page view never counts a shop's whole history:
    at most one bounded index range per state is read, however many orders there are.
    """
    # One state's capped count is compiled once with a stand-in value, then run for each state
    # with its own parameter: the SQL text is the same six times (compiling is the slow part).
    capped = queryset.filter(status=_ANY_STATE).order_by().values("pk")[: cap + 1]
    try:
        sql, template_params = capped.query.sql_with_params()
    except EmptyResultSet:  # a filter that cannot match anything (e.g. no such customer)
        return StateCounts(dict.fromkeys(OrderState.values, 0), cap)
    if list(template_params).count(_ANY_STATE) != 1:
        raise RuntimeError("state filter not found in the compiled count query")
    parts: list[str] = []
    params: list[object] = []
    for n, state in enumerate(OrderState.values):
        # Django compiled `sql`; every value in it is a bound parameter.
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS state_{n})")  # noqa: S608
        params.extend(state if p == _ANY_STATE else p for p in template_params)
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return StateCounts(dict(zip(OrderState.values, row, strict=True)), cap)


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
