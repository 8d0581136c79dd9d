"""Sort orders for order lists: shared by the FilterSet, the keyset paginator and the indexes.

Each sort is a tuple of keys that all run in one direction and end in the primary key, so "the rows
after this one" is a single row-value comparison `(k1, k2, id) < (v1, v2, v3)` that an index on the
same expressions answers directly (keyset paging), whatever the page number. The expressions here
are the ones the indexes in `ProductionOrder.Meta` are built on: change both together.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, DateField, Expression, F, IntegerField, Value, When

from production.lifecycle import FINAL_STATES, Priority

# Rush first, then standard, then orders on hold.
PRIORITY_RANK = Case(
    When(priority=Priority.RUSH.value, then=Value(2)),
    When(priority=Priority.STANDARD.value, then=Value(1)),
    default=Value(0),
    output_field=IntegerField(),
)

# What is due soonest first: paid open orders by promised date, then unpaid drafts (no date yet),
# then finished or canceled orders, which have nothing left to wait for.
ETA_KEY = Case(
    When(status__in=sorted(s.value for s in FINAL_STATES), then=Value(dt.date(9999, 12, 31))),
    When(due_date__isnull=True, then=Value(dt.date(9999, 12, 30))),
    default=F("due_date"),
    output_field=DateField(),
)


@dataclass(frozen=True)
class SortKey:
    name: str  # the annotation that carries the key's value on each row
    expression: Expression | F
    kind: str  # how a cursor spells it: "int", "date", "datetime" or "uuid"


@dataclass(frozen=True)
class OrderSort:
    label: str
    keys: tuple[SortKey, ...]
    descending: bool


_CREATED = SortKey("sort_created", F("created_at"), "datetime")
_ID = SortKey("sort_id", F("id"), "uuid")

SORTS: dict[str, OrderSort] = {
    "-created": OrderSort("Newest first", (_CREATED, _ID), descending=True),
    "created": OrderSort("Oldest first", (_CREATED, _ID), descending=False),
    "priority": OrderSort(
        "Priority (rush first)",
        (SortKey("sort_priority", PRIORITY_RANK, "int"), _CREATED, _ID),
        descending=True,
    ),
    "eta": OrderSort(
        "ETA (due soonest first)",
        (SortKey("sort_eta", ETA_KEY, "date"), _CREATED, _ID),
        descending=False,
    ),
}
DEFAULT_SORT = "-created"
