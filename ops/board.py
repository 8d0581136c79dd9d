"""Reads of the shop floor: the production board's columns and cards, a station's last scans.

The board is a fixed number of queries whatever the shop's size (asserted in tests, timed by
bench/ops_board.py): the cards shown with each column's counts, and the garment filter's choices.
Open orders are a small slice of a long history, found by a partial index (`order_open_board`);
an order's techniques are a column of its own (`technique_bits`), so no line item is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Case, Count, F, QuerySet, Value, When
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

from ops.floor import OPEN_STATES, STAGES, Stage
from ops.models import StationScan
from production.lifecycle import Priority, ProductionStatus
from production.models import (
    Garment,
    ProductionOrder,
    Technique,
    bit_sets_with,
    techniques_of,
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
    html: str = ""  # the cards as HTML (`render_cards`)
    held_html: str = ""
    shown: int = 0  # cards picked so far (while the board is read)
    held_shown: int = 0

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


# What the board reads of each card: narrow rows, no model instances.
_ROW = (
    "pk",
    "reference",
    "status",
    "production_status",
    "priority",
    "waiting_proof_revision",
    "total_quantity",
    "due_date",
    "garment_id",
    "technique_bits",
    "owner__first_name",
    "owner__last_name",
    "owner__email",
)
_FAR_FUTURE = date.max
# Stand-ins for a column's state and step in the cards' compiled SELECT (replaced per column).
_STATUS = "\x00status"
_STEP = "\x00step"
_HELD = Case(
    When(priority=Priority.HOLD, then=Value(True)),
    default=Value(False),
    output_field=BooleanField(),
)


def _stage_key(stage: Stage) -> tuple[str, str]:
    """The (state, step) of the orders in a stage's column (a paid order waits as Queued)."""
    return (stage.status, stage.step or ProductionStatus.QUEUED)


def production_board(params: QueryDict, *, limit: int | None = None) -> Board:
    """The board for the query string `params` (technique, garment), in three queries.

    The open orders are a couple of thousand, but the board shows ~30 a column: one query counts
    them by stage (and held or not), one reads just the cards shown — per column and held or not,
    the first `limit` by due date, as a UNION ALL of LIMITed selects, each a walk of the partial
    index `order_open_board` (status, step, due date, reference) that stops after `limit` rows —
    and one the garments for the filter and the cards. The technique filter is a condition on the
    order's own `technique_bits`: no line item is read.
    """
    limit = limit or settings.OPS_BOARD_COLUMN_LIMIT
    filters = BoardFilters.from_query(params)
    orders = open_orders().order_by()
    if filters.garment is not None:
        orders = orders.filter(garment_id=filters.garment)
    if filters.technique:
        orders = orders.filter(technique_bits__in=bit_sets_with(filters.technique))
    stage_keys = {_stage_key(stage): stage.key for stage in STAGES}

    columns = {stage.key: Column(stage) for stage in STAGES}
    counts = (
        orders.annotate(held=_HELD)
        .values_list("status", "production_status", "held")
        .annotate(count=Count("pk"))
    )
    for status, step, held, count in counts:
        key = stage_keys.get((status, step))
        if key is None:  # not a stage of the board (no such combination is ever written)
            continue
        columns[key].total += count
        if held:
            columns[key].held_total += count

    # Two SELECTs compiled once (held or not), repeated per column with its state and step.
    pieces: list[tuple[str, list]] = []
    templates = {}
    for held in (False, True):
        of_kind = orders.filter(status=_STATUS, production_status=_STEP)
        of_kind = (
            of_kind.filter(priority=Priority.HOLD)
            if held
            else of_kind.exclude(priority=Priority.HOLD)
        )
        ranked = of_kind.order_by(F("due_date").asc(nulls_last=True), "reference")
        templates[held] = ranked.values_list(*_ROW)[:limit].query.sql_with_params()
    for (status, step), key in stage_keys.items():
        column = columns[key]
        for held, count in ((False, column.active_total), (True, column.held_total)):
            if count:
                sql, params = templates[held]
                sentinels = {_STATUS: status, _STEP: step}
                pieces.append((sql, [sentinels.get(p, p) for p in params]))
    rows = _union_all(pieces)
    garments = list(Garment.objects.order_by("name").values_list("pk", "name"))

    # Due date first (none: last), then reference (their number order, as they are zero-padded).
    rows.sort(key=lambda row: (row[7] or _FAR_FUTURE, row[1]))
    today = timezone.localdate()
    names = dict(garments)
    for row in rows:
        key = stage_keys[(row[2], row[3])]
        column = columns[key]
        card = _card(row, key, names, today)
        (column.held_cards if card.held else column.cards).append(card)
    for column in columns.values():
        column.shown, column.held_shown = len(column.cards), len(column.held_cards)

    return Board(
        columns=list(columns.values()),
        filters=filters,
        garments=garments,
        techniques=list(Technique.choices),
        limit=limit,
        today=today,
    )


def _union_all(pieces: list[tuple[str, list]]) -> list[tuple]:
    """The rows of these LIMITed SELECTs (SQL, parameters), in one query: each wrapped as a
    subquery (SQLite allows no LIMIT in a compound's members otherwise), joined by UNION ALL."""
    if not pieces:
        return []
    sql = " UNION ALL ".join(
        f"SELECT * FROM ({piece}) AS piece{n}"  # noqa: S608 (the ORM's own SQL)
        for n, (piece, _) in enumerate(pieces)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [param for _, params in pieces for param in params])
        return cursor.fetchall()


_DETAIL = None


def _detail_url(order_id: UUID) -> str:
    global _DETAIL
    if _DETAIL is None:
        _DETAIL = reverse("ops:order-detail", args=[UUID(int=0)]).replace(str(UUID(int=0)), "{}")
    return _DETAIL.format(order_id)


def _card(row: tuple, stage: str, garments: dict[int, str], today: date) -> Card:
    pk, reference, _, _, priority, proof, quantity, due, garment_id, bits = row[:10]
    first, last, email = row[10:13]
    name = f"{first} {last}".strip()
    return Card(
        id=str(pk),
        reference=reference,
        url=_detail_url(pk),
        customer=name or email,
        garment=garments.get(garment_id, ""),
        quantity=quantity,
        techniques=" · ".join(TECHNIQUE_SHORT.get(t, t) for t in techniques_of(bits)),
        due=f"{due:%b} {due.day}" if due else "—",
        due_iso=due.isoformat() if due else "",
        stage=stage,
        rush=priority == Priority.RUSH,
        late=due is not None and due < today,
        held=priority == Priority.HOLD,
        proof_waiting=proof is not None,
    )


def render_cards(board: Board, *, move_url: str, csrf_token: str, query: str) -> None:
    """Each column's cards as HTML (`html`, `held_html`), built here rather than by the template
    engine, which took ten times as long for a few hundred cards (bench/ops_board.py)."""
    hidden = (
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf_token)}">'
        f'<input type="hidden" name="filters" value="{escape(query)}">'
    )
    options = {
        current.key: "".join(
            f'<option value="{stage.key}"{" selected" if stage == current else ""}>'
            f"{escape(stage.label)}</option>"
            for stage in STAGES
        )
        for current in STAGES
    }
    move_url = escape(move_url)

    def html(card: Card) -> str:
        classes = "board-card" + " rush" * card.rush + " late" * card.late + " held" * card.held
        badges = (
            ' <span class="badge rush">Rush</span>' * card.rush
            + ' <span class="badge late">Late</span>' * card.late
            + ' <span class="badge hold">On hold</span>' * card.held
            + ' <span class="badge proof">Awaiting proof</span>' * card.proof_waiting
        )
        what = f"{escape(card.garment)} · {card.quantity} pcs"
        if card.techniques:
            what += f" · {escape(card.techniques)}"
        return (
            f'<li class="{classes}" draggable="true" data-order-id="{card.id}" '
            f'data-stage="{card.stage}" data-reference="{escape(card.reference)}">'
            '<p class="card-head"><span class="drag-handle" aria-hidden="true" '
            'title="Drag to another column">⠿</span>'
            f'<a href="{card.url}">{escape(card.reference)}</a>{badges}</p>'
            f'<p class="card-customer">{escape(card.customer)}</p>'
            f'<p class="card-what">{what}</p>'
            f'<p class="card-due">Due <time datetime="{card.due_iso}">{card.due}</time></p>'
            f'<form method="post" action="{move_url}" class="card-move">{hidden}'
            f'<input type="hidden" name="order" value="{card.id}">'
            f'<label for="move-{card.id}">Move to</label> '
            f'<select id="move-{card.id}" name="stage">{options[card.stage]}</select> '
            '<button type="submit" class="secondary">Move</button></form>'
            '<p class="card-refusal" role="alert" hidden></p></li>'
        )

    for column in board.columns:
        column.html = mark_safe("".join(html(card) for card in column.cards))  # noqa: S308
        column.held_html = mark_safe("".join(html(card) for card in column.held_cards))  # noqa: S308


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
