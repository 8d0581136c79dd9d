"""Reads of the shop floor: the production board's columns and cards, a station's last scans.

The board is a fixed number of queries whatever the shop's size (asserted in tests, timed by
bench/ops_board.py): the cards shown with each column's counts, the garment filter's choices, and
the colours and placements of the cards shown. Open orders are a small slice of a long history,
found by a partial index (`order_open_board`); an order's techniques are a column of its own
(`technique_bits`), so only the line items of the cards shown are read (for their colours).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from html import escape  # Django's escape is this plus a lazy-string check per call
from uuid import UUID, uuid4

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.db.models import BooleanField, Case, Count, F, QuerySet, Sum, Value, When
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from ops.floor import STAGES, Stage
from ops.models import StationScan
from ops.selectors import color_exists
from production import order_reads
from production.lifecycle import OPEN_STATES, OrderState, Priority, ProductionStatus
from production.models import (
    ArtworkProof,
    Garment,
    LineItem,
    OrderDesign,
    PlacementCode,
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
    color: str = ""  # a garment colour's name, any case

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
        color = params.get("color", "").strip()[:50]
        return cls(technique, garment, tuple(errors), color)

    def query(self) -> str:
        params = QueryDict(mutable=True)
        if self.technique:
            params["technique"] = self.technique
        if self.garment is not None:
            params["garment"] = str(self.garment)
        if self.color:
            params["color"] = self.color
        return params.urlencode()


@dataclass
class Card:
    """One order on the board, formatted once in Python (the template engine is the slow part).
    Neither frozen (each field would be set through `object.__setattr__`) nor slotted (pickled
    through Python-level `__getstate__`, 3× slower into the cache): a board has a few hundred."""

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
    colors: list[tuple[str, str, int]] = field(default_factory=list)  # name, hex, pieces
    changes_requested: bool = False  # the customer asked for changes: the shop owes a proof
    placements: str = ""  # "Front · Back"


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


@dataclass
class Board:
    columns: list[Column]
    filters: BoardFilters
    garments: list[tuple[int, str]]
    techniques: list[tuple[str, str]]
    limit: int
    today: date
    # Stands in the cards' forms for the request's CSRF token (`with_csrf_token`): the cards' HTML
    # is kept with the board in the shared cache, and a token belongs to one visitor. Random per
    # read, so no customer's name or note can spell it.
    csrf_slot: str = ""

    def with_csrf_token(self, html: bytes, token: str) -> bytes:
        """The rendered page `html` with this request's CSRF token in the cards' forms."""
        return html.replace(self.csrf_slot.encode(), token.encode()) if self.csrf_slot else html


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
    "owner_id",
)
_OWNER = ("first_name", "last_name", "email")  # joined to the cards shown, not to every candidate
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
    """The board for the query string `params` (technique, garment, colour): read
    (`_read_board`), or the copy of the same read kept in the shared cache under the orders'
    version, which every change of an order through the services replaces. Every board screen
    refetches its columns after each change; one of them reads, the others take its copy.
    Changes made outside the services show within `order_reads.TTL`, as for the order reads.
    """
    limit = limit or settings.OPS_BOARD_COLUMN_LIMIT
    filters = BoardFilters.from_query(params)
    today = timezone.localdate()
    key = f"ops-board:{order_reads.orders_version()}:{today}:{limit}:{filters.query()}"
    board = cache.get(key)
    if board is None:
        board = _read_board(filters, limit, today)
        _render_cards(board, move_url=reverse("ops:board-move"), query=filters.query())
        cache.set(key, board, order_reads.TTL)
    return replace(board, filters=filters)  # the same board, this request's words about filters


def _read_board(filters: BoardFilters, limit: int, today: date) -> Board:
    """The board from the database, in five queries.

    The open orders are a couple of thousand, but the board shows ~30 a column: one query counts
    them by stage (and held or not), one reads just the cards shown — per column and held or not,
    the first `limit` by due date, as a UNION ALL of LIMITed selects, each a walk of the partial
    index `order_open_board` (status, step, due date, reference) that stops after `limit` rows —
    and one the garments for the filter and the cards. The technique filter is a condition on the
    order's own `technique_bits`. Two more read the colours (line items) and placements
    (designs) of the cards shown, by their ids.
    """
    (count_sql, count_params), templates = _compiled(
        filters.technique, filters.garment, bool(filters.color), limit
    )
    bind = {_GARMENT: filters.garment, _COLOR: filters.color.lower()}
    stage_keys = {_stage_key(stage): stage.key for stage in STAGES}

    columns = {stage.key: Column(stage) for stage in STAGES}
    with connection.cursor() as cursor:
        cursor.execute(count_sql, [bind.get(p, p) for p in count_params])
        counts = cursor.fetchall()
    for status, step, held, count in counts:
        key = stage_keys.get((status, step))
        if key is None:  # not a stage of the board (no such combination is ever written)
            continue
        columns[key].total += count
        if held:
            columns[key].held_total += count

    # The cards' SELECT (held or not), repeated per column with its state and step.
    pieces: list[tuple[str, list]] = []
    for (status, step), key in stage_keys.items():
        column = columns[key]
        for held, count in ((False, column.active_total), (True, column.held_total)):
            if count:
                sql, params = templates[held]
                bind.update({_STATUS: status, _STEP: step})
                pieces.append((sql, [bind.get(p, p) for p in params]))
    rows = _union_all(pieces)
    garments = list(Garment.objects.order_by("name").values_list("pk", "name"))

    # Due date first (none: last), then reference (their number order, as they are zero-padded).
    rows.sort(key=lambda row: (row[7] or _FAR_FUTURE, row[1]))
    names = dict(garments)
    for row in rows:
        key = stage_keys[(row[2], row[3])]
        column = columns[key]
        card = _card(row, key, names, today)
        (column.held_cards if card.held else column.cards).append(card)
    for column in columns.values():
        column.shown, column.held_shown = len(column.cards), len(column.held_cards)
    _add_colors_and_placements([card for c in columns.values() for card in c.cards + c.held_cards])

    return Board(
        columns=list(columns.values()),
        filters=filters,
        garments=garments,
        techniques=list(Technique.choices),
        limit=limit,
        today=today,
    )


# The board's SQL, compiled by the ORM once per process and shape of the filters (building it
# took ~3 ms a read, as long as PostgreSQL takes to answer it): the counts' SELECT, and the cards'
# (held or not) with stand-ins for a column's state and step and for the garment filter's id.
_GARMENT = -7_654_321
_COLOR = "\x00color"
_SQL: dict[
    tuple[str, bool, bool, int], tuple[tuple[str, tuple], dict[bool, tuple[str, tuple]]]
] = {}


def _compiled(
    technique: str, garment: int | None, color: bool, limit: int
) -> tuple[tuple[str, tuple], dict[bool, tuple[str, tuple]]]:
    shape = (technique, garment is not None, color, limit)
    if shape not in _SQL:
        # The cards' SELECTs name one state each, which alone lets PostgreSQL walk the partial
        # index in due-date order; naming the open states too made it misjudge the rows and sort.
        filtered = ProductionOrder.objects.order_by()
        if garment is not None:
            filtered = filtered.filter(garment_id=_GARMENT)
        if technique:
            filtered = filtered.filter(technique_bits__in=bit_sets_with(technique))
        if color:  # an EXISTS on the order's line items in that colour (`color_exists`)
            filtered = filtered.filter(color_exists(_COLOR))
        counts = (
            filtered.filter(status__in=OPEN_STATES)
            .annotate(held=_HELD)
            .values_list("status", "production_status", "held")
            .annotate(count=Count("pk"))
        )
        cards = {}
        for held in (False, True):
            of_kind = filtered.filter(status=_STATUS, production_status=_STEP)
            of_kind = (
                of_kind.filter(priority=Priority.HOLD)
                if held
                else of_kind.exclude(priority=Priority.HOLD)
            )
            ranked = of_kind.order_by(F("due_date").asc(nulls_last=True), "reference")
            cards[held] = ranked.values_list(*_ROW)[:limit].query.sql_with_params()
        _SQL[shape] = (counts.query.sql_with_params(), cards)
    return _SQL[shape]


def _union_all(pieces: list[tuple[str, list]]) -> list[tuple]:
    """The rows of these LIMITed SELECTs (SQL, parameters), in one query, each with its owner's
    name and email: each SELECT wrapped as a subquery (SQLite allows no LIMIT in a compound's
    members otherwise), joined by UNION ALL, and the owners joined to the few rows that remain."""
    if not pieces:
        return []
    union = " UNION ALL ".join(
        f"SELECT * FROM ({piece}) AS piece{n}"  # noqa: S608 (the ORM's own SQL)
        for n, (piece, _) in enumerate(pieces)
    )
    user = get_user_model()._meta
    quote = connection.ops.quote_name
    owner = ", ".join(f"owner.{quote(user.get_field(name).column)}" for name in _OWNER)
    sql = (
        f"SELECT board.*, {owner} FROM ({union}) AS board "  # noqa: S608 (names from the models)
        f"INNER JOIN {quote(user.db_table)} AS owner "
        f"ON owner.{quote(user.pk.column)} = board.owner_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [param for _, params in pieces for param in params])
        return cursor.fetchall()


_DETAIL = None


def _detail_url(order_id: str) -> str:
    global _DETAIL
    if _DETAIL is None:
        _DETAIL = reverse("ops:order-detail", args=[UUID(int=0)]).replace(str(UUID(int=0)), "{}")
    return _DETAIL.format(order_id)


_DESIGN = None


def _design_url(order_id: str) -> str:
    """The card's thumbnail: the ops design view (the job tickets' server-side fetch of the front
    design, or a redirect to this site's own file), never the customer's URL itself."""
    global _DESIGN
    if _DESIGN is None:
        # A design that cannot be shown gives the neutral "no preview" picture, not a 404.
        design = reverse("ops:order-design", args=[UUID(int=0)]).replace(str(UUID(int=0)), "{}")
        _DESIGN = design + "?placeholder=1"
    return _DESIGN.format(order_id)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TECHNIQUES: dict[int, str] = {}  # bit set -> "DTG · Screen" (at most 2**3 of them)


def _techniques(bits: int) -> str:
    text = _TECHNIQUES.get(bits)
    if text is None:
        text = _TECHNIQUES[bits] = " · ".join(
            TECHNIQUE_SHORT.get(t, t) for t in techniques_of(bits)
        )
    return text


def _card(row: tuple, stage: str, garments: dict[int, str], today: date) -> Card:
    pk, reference, _, _, priority, proof, quantity, due, garment_id, bits = row[:10]
    first, last, email = row[11:14]
    name = f"{first} {last}".strip()
    # SQLite's raw rows give the id as bare hex: the links and the live page's lookups use dashes.
    order_id = str(pk if isinstance(pk, UUID) else UUID(pk))
    return Card(
        id=order_id,
        reference=reference,
        url=_detail_url(order_id),
        customer=name or email,
        garment=garments.get(garment_id, ""),
        quantity=quantity,
        techniques=_techniques(bits),
        due=f"{_MONTHS[due.month - 1]} {due.day}" if due else "—",
        due_iso=due.isoformat() if due else "",
        stage=stage,
        rush=priority == Priority.RUSH,
        late=due is not None and due < today,
        held=priority == Priority.HOLD,
        proof_waiting=proof is not None,
    )


def _add_colors_and_placements(cards: list[Card]) -> None:
    """Each card's garment colours (pieces of each) and placement names, front first: two
    queries for all the cards shown."""
    if not cards:
        return
    by_id = {UUID(card.id): card for card in cards}  # raw rows: SQLite's ids are bare hex
    colors = (
        LineItem.objects.filter(order_id__in=list(by_id))
        .values_list("order_id", "color__name", "color__hex", "color__position")
        .annotate(pieces=Sum("quantity"))
        .order_by("order_id", "color__position", "color__name")
    )
    for order_id, name, hex_, _, pieces in colors:
        by_id[order_id].colors.append((name, hex_, pieces))
    placements: dict[UUID, list[tuple[bool, int, str]]] = {}
    designs = OrderDesign.objects.filter(order_id__in=list(by_id)).values_list(
        "order_id", "placement__code", "placement__position", "placement__name"
    )
    for order_id, code, position, name in designs:
        placements.setdefault(order_id, []).append((code != PlacementCode.FRONT, position, name))
    for order_id, names in placements.items():
        by_id[order_id].placements = " · ".join(name for *_, name in sorted(names))
    # The customer asked for changes to the last proof and no new one is out: one query.
    asked = ArtworkProof.objects.filter(
        order_id__in=list(by_id),
        order__status=OrderState.SUBMITTED,
        order__waiting_proof_revision__isnull=True,
        state=ArtworkProof.State.CHANGES_REQUESTED,
    ).values_list("order_id", flat=True)
    for order_id in asked:
        by_id[order_id].changes_requested = True


def _render_cards(board: Board, *, move_url: str, query: str) -> None:
    """Each column's cards as HTML (`html`, `held_html`), built here rather than by the template
    engine, which took ten times as long for a few hundred cards (bench/ops_board.py). Their
    forms hold `board.csrf_slot` where the request's token goes."""
    board.csrf_slot = uuid4().hex
    hidden = (
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{board.csrf_slot}">'
        f'<input type="hidden" name="filters" value="{escape(query)}">'
    )
    # A menu of the other stages, one button each (no select and button on every card).
    options = {
        current.key: "".join(
            f'<button type="submit" name="stage" value="{stage.key}" class="menu-item">'
            f"{escape(stage.label)}</button>"
            for stage in STAGES
            if stage != current
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
            + ' <span class="badge changes">Changes requested</span>' * card.changes_requested
        )
        what = f"{escape(card.garment)} · {card.quantity} pcs"
        if card.techniques:
            what += f" · {escape(card.techniques)}"
        colors = "".join(
            '<span class="card-color"><svg class="swatch-chip" viewBox="0 0 24 24" '
            f'aria-hidden="true" focusable="false"><circle cx="12" cy="12" r="10" '
            f'fill="{escape(hex_)}" stroke="#6b6b70" stroke-width="1.5"/></svg>'
            f"{escape(name)} × {pieces}</span>"
            for name, hex_, pieces in card.colors
        )
        placements = escape(card.placements)
        return (
            f'<li class="{classes}" draggable="true" data-order-id="{card.id}" '
            f'data-stage="{card.stage}" data-reference="{escape(card.reference)}">'
            # The front design, small, loaded as the card scrolls into view; its size is set so
            # the board does not jump when it arrives.
            f'<img class="card-thumb" src="{_design_url(card.id)}" alt="" width="48" '
            'height="48" loading="lazy" decoding="async" draggable="false">'
            '<p class="card-head"><span class="drag-handle" aria-hidden="true" '
            'title="Drag to another column">⠿</span>'
            f'<a href="{card.url}">{escape(card.reference)}</a>{badges}</p>'
            f'<p class="card-customer">{escape(card.customer)}</p>'
            f'<p class="card-what">{what}</p>'
            + (f'<p class="card-colors">{colors}</p>' if colors else "")
            + (f'<p class="card-placements">{placements}</p>' if placements else "")
            + f'<p class="card-due">Due <time datetime="{card.due_iso}">{card.due}</time></p>'
            f'<details class="card-menu"><summary id="menu-{card.id}">Move to…'
            f'<span class="visually-hidden"> ({escape(card.reference)})</span></summary>'
            f'<form method="post" action="{move_url}" class="card-move">{hidden}'
            f'<input type="hidden" name="order" value="{card.id}">'
            f"{options[card.stage]}</form></details>"
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
