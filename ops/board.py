"""Reads of the shop floor: the production board's columns and cards, a station's last scans.

The board is a fixed number of queries whatever the shop's size (asserted in tests, timed by
bench/ops_board.py): one grouped count of the open orders, one query for the cards (each column's
first `OPS_BOARD_COLUMN_LIMIT` by due date, a window function ranks them), one for their
techniques, one for the garment filter's choices. Open orders are a small slice of a long
history; the state index (`order_status_seek`) finds them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from django.conf import settings
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import RowNumber
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from ops.floor import OPEN_STATES, STAGES, Stage, stage_of
from ops.models import StationScan
from production.lifecycle import OrderFacts, OrderState, Priority, ProductionStatus
from production.models import Garment, LineItem, ProductionOrder, Technique

CARD_FIELDS = (
    "id",
    "reference",
    "status",
    "production_status",
    "priority",
    "waiting_proof_revision",
    "total_quantity",
    "due_date",
    "garment__name",
    "owner__email",
    "owner__first_name",
    "owner__last_name",
)
TECHNIQUE_SHORT = {Technique.DTG: "DTG", Technique.SCREEN: "Screen", Technique.EMBROIDERY: "Embr."}


@dataclass(frozen=True)
class BoardFilters:
    """The board's query string, checked: unknown values are ignored (and said so)."""

    technique: str = ""
    garment: int | None = None
    errors: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, params: QueryDict) -> BoardFilters:
        errors = []
        technique = params.get("technique", "").strip()
        if technique and technique not in Technique.values:
            errors.append(f"Unknown technique “{technique[:40]}”: showing every technique.")
            technique = ""
        garment_text = params.get("garment", "").strip()
        garment = None
        if garment_text:
            if garment_text.isdigit() and len(garment_text) < 10:
                garment = int(garment_text)
            else:
                errors.append("Unknown garment: showing every garment.")
        return cls(technique, garment, tuple(errors))

    def query(self) -> str:
        params = QueryDict(mutable=True)
        if self.technique:
            params["technique"] = self.technique
        if self.garment is not None:
            params["garment"] = str(self.garment)
        return params.urlencode()

    def apply(self, orders: QuerySet[ProductionOrder]) -> QuerySet[ProductionOrder]:
        if self.technique:
            orders = orders.filter(
                Exists(LineItem.objects.filter(order=OuterRef("pk"), technique=self.technique))
            )
        if self.garment is not None:
            orders = orders.filter(garment_id=self.garment)
        return orders


@dataclass(frozen=True)
class Card:
    """One order on the board, formatted once in Python (the template engine is the slow part)."""

    id: str
    reference: str
    url: str
    customer: str
    garment: str
    quantity: int
    techniques: str
    due: str
    due_iso: str
    stage: str
    rush: bool
    late: bool
    held: bool
    proof_waiting: bool


@dataclass
class Column:
    stage: Stage
    cards: list[Card] = field(default_factory=list)
    held_cards: list[Card] = field(default_factory=list)
    total: int = 0
    held_total: int = 0

    @property
    def active_total(self) -> int:
        return self.total - self.held_total

    @property
    def list_url(self) -> str:
        """The ops list showing this column's orders (all of them, past the board's limit)."""
        params = QueryDict(mutable=True)
        params["status"] = self.stage.status
        if self.stage.step is not None:
            params["productionStatus"] = self.stage.step
        return reverse("ops:order-list") + "?" + params.urlencode()

    @property
    def hidden(self) -> int:
        """Cards counted but not shown (beyond the column's limit)."""
        return self.total - len(self.cards) - len(self.held_cards)


@dataclass(frozen=True)
class Board:
    columns: list[Column]
    filters: BoardFilters
    garments: list[tuple[int, str]]
    techniques: list[tuple[str, str]]
    limit: int
    today: date


def open_orders() -> QuerySet[ProductionOrder]:
    """The orders on the board: paid, neither fulfilled nor canceled."""
    return ProductionOrder.objects.filter(status__in=OPEN_STATES)


def production_board(params: QueryDict, *, limit: int | None = None) -> Board:
    """The board for the query string `params` (technique, garment), in four queries."""
    limit = limit or settings.OPS_BOARD_COLUMN_LIMIT
    filters = BoardFilters.from_query(params)
    orders = filters.apply(open_orders())
    columns = {stage.key: Column(stage) for stage in STAGES}

    counts = (
        orders.order_by()
        .values("status", "production_status")
        .annotate(total=Count("pk"), held=Count("pk", filter=Q(priority=Priority.HOLD)))
    )
    for row in counts:
        stage = _stage(row["status"], row["production_status"])
        if stage is not None:
            columns[stage.key].total += row["total"]
            columns[stage.key].held_total += row["held"]

    today = timezone.localdate()
    for card in _cards(orders, limit=limit, today=today):
        column = columns[card.stage]
        (column.held_cards if card.held else column.cards).append(card)

    garments = list(Garment.objects.order_by("name").values_list("pk", "name"))
    return Board(
        columns=list(columns.values()),
        filters=filters,
        garments=garments,
        techniques=list(Technique.choices),
        limit=limit,
        today=today,
    )


def _stage(status: str, production_status: str) -> Stage | None:
    return stage_of(
        OrderFacts(OrderState(status), ProductionStatus(production_status), Priority.STANDARD)
    )


def _cards(orders: QuerySet[ProductionOrder], *, limit: int, today: date) -> list[Card]:
    """Each column's first `limit` cards by due date (held ones apart), in one query."""
    held = Case(
        When(priority=Priority.HOLD, then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )
    ranked = (
        orders.select_related("owner", "garment")
        .only(*CARD_FIELDS)
        .annotate(
            held=held,
            rank=Window(
                RowNumber(),
                partition_by=[F("status"), F("production_status"), held],
                order_by=[F("due_date").asc(nulls_last=True), F("reference").asc()],
            ),
        )
        .filter(rank__lte=limit)
        .order_by(F("due_date").asc(nulls_last=True), "reference")
    )
    rows = list(ranked)
    techniques: dict[UUID, set[str]] = defaultdict(set)
    if rows:
        for order_id, technique in (
            LineItem.objects.filter(order_id__in=[row.pk for row in rows])
            .values_list("order_id", "technique")
            .distinct()
        ):
            techniques[order_id].add(technique)
    return [_card(order, techniques[order.pk], today) for order in rows]


_DETAIL = None


def _detail_url(order_id: UUID) -> str:
    global _DETAIL
    if _DETAIL is None:
        _DETAIL = reverse("ops:order-detail", args=[UUID(int=0)]).replace(str(UUID(int=0)), "{}")
    return _DETAIL.format(order_id)


def _card(order: ProductionOrder, techniques: set[str], today: date) -> Card:
    stage = _stage(order.status, order.production_status)
    owner = order.owner
    name = f"{owner.first_name} {owner.last_name}".strip()
    return Card(
        id=str(order.pk),
        reference=order.reference,
        url=_detail_url(order.pk),
        customer=name or owner.email,
        garment=order.garment.name,
        quantity=order.total_quantity,
        techniques=" · ".join(
            TECHNIQUE_SHORT.get(t, t) for t in sorted(techniques, key=Technique.values.index)
        ),
        due=f"{order.due_date:%b} {order.due_date.day}" if order.due_date else "—",
        due_iso=order.due_date.isoformat() if order.due_date else "",
        stage=stage.key if stage else "",
        rush=order.priority == Priority.RUSH,
        late=order.due_date is not None and order.due_date < today,
        held=order.priority == Priority.HOLD,
        proof_waiting=order.waiting_proof_revision is not None,
    )


# --- scan stations ---------------------------------------------------------------------------

RECENT_SCANS = 10


def recent_scans(*, station: Stage, limit: int = RECENT_SCANS) -> list[StationScan]:
    """The station's last scans, newest first, with the order and customer each names."""
    return list(
        StationScan.objects.filter(station=station.key)
        .select_related("order__owner")
        .order_by("-scanned_at", "-id")[:limit]
    )


def customer_name(order: ProductionOrder | None) -> str:
    if order is None:
        return ""
    owner = order.owner
    return f"{owner.first_name} {owner.last_name}".strip() or owner.email
