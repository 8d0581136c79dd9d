"""Reads for the ops dashboard. Each page runs a fixed number of queries, whatever it shows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape  # Django's escape is this plus a lazy-string check per call
from uuid import UUID

import django_filters
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Exists, F, IntegerField, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Lower
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from ops.forms import filter_params
from ops.paging import KeysetPage, paginate
from production import order_reads
from production.filters import OrderFilter, order_by_sort
from production.lifecycle import OrderFacts, OrderState, Priority, eta_days, operator_words
from production.models import (
    ArtworkProof,
    FulfillmentEvent,
    GarmentColor,
    LineItem,
    OrderDesign,
    OrderNote,
    PlacementCode,
    ProductionOrder,
    Shipment,
    ShipmentItem,
)

PAGE_SIZE = 20


class OpsOrderFilter(OrderFilter):
    """The API's order filters, and the garment colour (the operators' list, its exports and
    job-ticket batches): orders with a line in a colour of that name, any case, whatever the
    garment. An EXISTS on the order's line items (their order_id index) and their colour."""

    color = django_filters.CharFilter(method="by_color", label="Garment colour", max_length=50)

    def by_color(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if not value.strip():
            return queryset
        return queryset.filter(color_exists(value))


def color_exists(value: str) -> Exists:
    """Has a line in the colour named `value` (any case)."""
    lines = LineItem.objects.annotate(color_name=Lower("color__name")).filter(
        order_id=OuterRef("pk"), color_name=value.strip().lower()
    )
    return Exists(lines)


def color_choices(current: str = "") -> list[str]:
    """The garment colours that exist, one per name (any case), for the list's colour filter
    (one query). A colour the query string names that no garment has (an old link) is kept, so
    the filter still shows what it filters by."""
    names: dict[str, str] = {}
    for name in GarmentColor.objects.order_by("name").values_list("name", flat=True).distinct():
        names.setdefault(name.lower(), name)
    current = current.strip()[:50]
    if current and current.lower() not in names:
        names[current.lower()] = current
    return sorted(names.values(), key=str.lower)


# Only what a list row shows: 100k-order tables make row width matter.
LIST_FIELDS = (
    "id",
    "reference",
    "external_reference",
    "status",
    "production_status",
    "priority",
    "total_quantity",
    "created_at",
    "due_date",
    "waiting_proof_revision",
    "shipped_quantity",
    "pickup_ready_at",
    "delivery",
    "garment__name",
    "owner__email",
    "owner__first_name",
    "owner__last_name",
)


def order_list_queryset() -> QuerySet[ProductionOrder]:
    """Every order, with its garment and customer joined in (no query per row)."""
    return ProductionOrder.objects.select_related("garment", "owner").only(*LIST_FIELDS)


def export_orders(params: QueryDict) -> QuerySet[ProductionOrder]:
    """What the list's filters match, in its sort, with what a work order sheet needs."""
    orders = ProductionOrder.objects.select_related("garment", "owner").prefetch_related(
        Prefetch("line_items", queryset=LineItem.objects.order_by("id")),
        Prefetch("shipments", queryset=Shipment.objects.order_by("created_at", "id")),
    )
    filterset = OpsOrderFilter(filter_params(params), queryset=orders)
    filterset.is_valid()  # invalid values are ignored, as on the list
    return order_by_sort(filterset.qs, filterset.sort_key)


@dataclass(frozen=True)
class StateCounts:
    """Orders per state, each counted up to `cap` (a count above it reads "cap+")."""

    counts: dict[str, int]
    cap: int

    def label(self, states: list[str] | None = None) -> str:
        total = self.total(states)
        return f"{total:,}" if total is not None else f"{self.cap:,}+"

    def total(self, states: list[str] | None = None) -> int | None:
        """How many orders are in `states` (default: all), or None when one is over the cap."""
        counts = [self.counts[state] for state in states or self.counts]
        return None if any(count > self.cap for count in counts) else sum(counts)


def status_counts(
    queryset: QuerySet[ProductionOrder], *, cap: int, narrow: bool = False
) -> StateCounts:
    """How many of `queryset`'s orders are in each state, in one statement.

    Each state's count stops at cap + 1 rows, so a page view never counts a shop's whole history:
    at most one bounded index range per state is read, however many orders there are.

    `narrow`: the orders are filtered (a search, a date range), so they may be few: they are
    first counted by state in one pass over at most (states × (cap + 1)) of them, which reads
    each matching order once instead of once per state (a surname's 2,000 orders: 4.4 ms of
    PostgreSQL's time as six counts). A filter matching more falls back to the six counts.
    """
    if narrow:
        counted = _counted_in_one_pass(queryset, limit=len(OrderState.values) * (cap + 1))
        if counted is not None:
            return StateCounts(counted, cap)
    counts = {
        state: Subquery(
            queryset.filter(status=state).order_by().values("pk")[: cap + 1],
            template="(SELECT COUNT(*) FROM (%(subquery)s) AS capped)",
            output_field=IntegerField(),
        )
        for state in OrderState.values
    }
    # Six uncorrelated subqueries, each run once; any one row carries them (none: no orders).
    rows = ProductionOrder.objects.order_by().annotate(**counts).values(*counts)[:1]
    row = next(iter(rows), {})
    return StateCounts({state: row.get(state) or 0 for state in OrderState.values}, cap)


def _counted_in_one_pass(
    queryset: QuerySet[ProductionOrder], *, limit: int
) -> dict[str, int] | None:
    """Every state's exact count when fewer than `limit` orders match (one statement), else
    None. A count over the cap reads "cap+" all the same (`StateCounts.label`)."""
    try:
        sql, params = queryset.order_by().values("status")[:limit].query.sql_with_params()
    except EmptyResultSet:  # a filter no order can match (a search for nobody)
        return dict.fromkeys(OrderState.values, 0)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT matching.status, COUNT(*) FROM ({sql}) AS matching "  # noqa: S608 (the ORM's SQL)
            "GROUP BY matching.status",
            params,
        )
        found = dict(cursor.fetchall())
    if sum(found.values()) >= limit:
        return None
    return {state: found.get(state, 0) for state in OrderState.values}


def narrowed(cleaned: dict) -> bool:
    """Whether the list's filters (a filter form's cleaned data, its state taken out) narrow the
    orders down at all; the sort does not."""
    return any(value not in (None, "", [], ()) for name, value in cleaned.items() if name != "sort")


def get_ops_order(*, order_id: UUID | str) -> ProductionOrder | None:
    """One order with everything its ops page shows, in a fixed number of queries."""
    return (
        ProductionOrder.objects.select_related("garment", "owner")
        .prefetch_related(
            Prefetch(
                "line_items", queryset=LineItem.objects.select_related("color").order_by("id")
            ),
            Prefetch(
                "designs",
                queryset=OrderDesign.objects.select_related("placement").order_by(
                    "placement__position", "placement_id"
                ),
            ),
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
            Prefetch(
                "shipments",
                queryset=Shipment.objects.select_related("recorded_by")
                .order_by("created_at", "id")
                .prefetch_related(
                    Prefetch("items", queryset=ShipmentItem.objects.select_related("line_item"))
                ),
            ),
        )
        .filter(pk=order_id)
        .first()
    )


def placement_designs(order: ProductionOrder) -> list[OrderDesign]:
    """The designs of an order from `get_ops_order` (prefetched: no query), front first, then
    in the garment's placement order."""
    return sorted(
        order.designs.all(),
        key=lambda d: (d.placement.code != PlacementCode.FRONT, d.placement.position, d.pk),
    )


def remaining_by_line(order: ProductionOrder) -> list[tuple[LineItem, int]]:
    """Each line item of an order from `get_ops_order` with how many are left to ship (from the
    prefetched shipments: no query)."""
    shipped: Counter[int] = Counter()
    for shipment in order.shipments.all():
        for item in shipment.items.all():
            shipped[item.line_item_id] += item.quantity
    return [(item, item.quantity - shipped[item.pk]) for item in order.line_items.all()]


def list_url(filters: QueryDict, **extra: str) -> str:
    """The list with these filters (and paging parameters)."""
    query = filters.copy()
    for name, value in extra.items():
        query[name] = value
    encoded = query.urlencode()
    return reverse("ops:order-list") + (f"?{encoded}" if encoded else "")


def matching_orders(filters: QueryDict) -> QuerySet[ProductionOrder]:
    """Every order the list's filters match, unordered (what "apply to all matching" changes)."""
    unsorted = filters.copy()
    unsorted.pop("sort", None)
    return OpsOrderFilter(unsorted, queryset=ProductionOrder.objects.all()).qs


def matching_up_to(filters: QueryDict, limit: int) -> tuple[QuerySet[ProductionOrder], int]:
    """The orders the list's filters match, and how many: counting stops just past `limit` (a
    count of limit + 1 means more), so that an over-broad filter is refused cheaply."""
    matching = matching_orders(filters)
    return matching, matching.order_by()[: limit + 1].count()


@dataclass(frozen=True)
class Row:
    """One list row, formatted once in Python: the template engine is the slow part of a page."""

    id: str
    reference: str
    url: str
    customer_name: str
    email: str
    garment: str
    quantity: int
    status: str
    status_label: str  # one status, as an operator says it ("Proof 1 out — waiting…")
    production_status: str
    priority: str
    created_iso: str
    created: str
    eta: str
    external_reference: str = ""  # the store's name for it ("#1001"), shown beside ours
    changes_requested: bool = False  # the customer asked for changes: the shop owes a proof


def changes_asked() -> Exists:
    """Whether the customer asked for changes to one of the order's proofs (with the order
    submitted and no proof out, the shop owes a new one). A subquery of the page's own query,
    run for its rows only (the proofs' order_id index): no query of its own."""
    return Exists(
        ArtworkProof.objects.filter(
            order_id=OuterRef("pk"), state=ArtworkProof.State.CHANGES_REQUESTED
        ).order_by()
    )


def options_html(choices: Iterable[tuple[str, object]], selected: str = "") -> SafeString:
    """A select's `<option>`s for these (value, label) pairs, the one whose value is `selected`
    marked: the list's filter form, built here as its rows are (the template's loops over
    them were most of what the form cost to render). Escaped as the template would."""
    return mark_safe(  # noqa: S308
        "".join(
            f'<option value="{escape(value)}"{" selected" if value == selected else ""}>'
            f"{escape(str(label))}</option>"
            for value, label in choices
        )
    )


def rows_html(rows: list[Row]) -> str:
    """The list's rows as HTML, built here rather than by the template engine, which took about
    a third of the page's time for 20 rows (bench/ops_dashboard.py; the board does the same).
    Every value is escaped as the template would (`html.escape` is what Django's does)."""
    return mark_safe("".join(_row_html(row) for row in rows))  # noqa: S308


def _row_html(row: Row) -> str:
    draft = row.status == OrderState.DRAFT
    rush, held = row.priority == Priority.RUSH, row.priority == Priority.HOLD
    classes = ' class="draft"' if draft else ' class="rush"' if rush else ' class="held"' * held
    if draft:
        priority = '<span class="muted">—</span>'
    elif rush:
        priority = '<span class="badge rush">Rush</span>'
    else:
        priority = '<span class="badge hold">On hold</span>' if held else "Standard"
    reference = escape(row.reference)
    return (
        f'<tr data-order-id="{row.id}"{classes}>'
        f'<td class="select"><input type="checkbox" name="ids" value="{row.id}" '
        f'aria-label="Select {reference}"></td>'
        f'<td class="reference" data-label="Order"><a href="{escape(row.url)}">{reference}</a>'
        + (
            f' <span class="muted">{escape(row.external_reference)}</span>'
            if row.external_reference
            else ""
        )
        + '</td><td data-label="Customer">'
        + (f"{escape(row.customer_name)}<br>" if row.customer_name else "")
        + f'<span class="muted">{escape(row.email)}</span></td>'
        f'<td data-label="Garment">{escape(row.garment)}</td>'
        f'<td class="num" data-label="Qty">{row.quantity}</td>'
        f'<td data-field="status" data-value="{escape(row.status)}" data-label="Status">'
        f'<span data-field="status-text">{escape(row.status_label)}</span>'
        + (' <span class="badge changes">Changes requested</span>' if row.changes_requested else "")
        + f'</td><td data-field="priority" data-label="Priority">{priority}</td>'
        f'<td data-label="Created"><time datetime="{row.created_iso}">{row.created}</time></td>'
        f'<td data-label="Due in">{escape(row.eta)}</td></tr>'
    )


def list_rows(orders: list[ProductionOrder]) -> list[Row]:
    """The rows of a page of `order_list_page`'s orders (annotated with `changes_asked`)."""
    detail = reverse("ops:order-detail", args=[UUID(int=0)]).replace(str(UUID(int=0)), "{}")
    today = timezone.localdate()
    rows = []
    for order in orders:
        asked = (
            order.status == OrderState.SUBMITTED
            and order.waiting_proof_revision is None
            and order.changes_asked
        )
        created = timezone.localtime(order.created_at)
        eta = eta_days(
            status=order.status, priority=order.priority, due_date=order.due_date, today=today
        )
        status_words, _ = operator_words(
            OrderFacts.of(order),
            delivery=order.delivery,
            changes_requested=asked,
            pickup_told=order.pickup_ready_at is not None,
            total_quantity=order.total_quantity,
        )
        rows.append(
            Row(
                id=str(order.id),
                reference=order.reference,
                external_reference=order.external_reference,
                url=detail.format(order.id),
                customer_name=order.owner.get_full_name(),
                email=order.owner.email,
                garment=order.garment.name,
                quantity=order.total_quantity,
                status=order.status,
                status_label=status_words,
                production_status=order.production_status,
                priority=order.priority,
                created_iso=created.isoformat(),
                created=created.strftime("%Y-%m-%d %H:%M"),
                # An unpaid draft has no due date yet.
                eta="—" if order.is_final or order.status == OrderState.DRAFT else f"{eta} d",
                changes_requested=asked,
            )
        )
    return rows


@dataclass(frozen=True)
class OrderListPage:
    """Everything /ops/orders shows for one query string (the template's context)."""

    filterset: OpsOrderFilter  # the filter form, with the errors of values it ignored
    filters: QueryDict  # the filter and sort parameters, without paging
    query: str
    sort_key: str
    selected_states: list[str]
    tabs: list[dict]
    page: KeysetPage
    rows: list[Row]
    rows_html: SafeString  # the rows as the table shows them
    links: dict[str, str | None]
    total: int | None  # None: over the count cap
    total_label: str
    can_apply_to_all: bool
    bulk_limit: int
    export_url: str


def list_counts(matching: QuerySet[ProductionOrder], *, narrow: bool) -> StateCounts:
    """The list's tab counts for `matching` (its filters, not its state). Unfiltered, they are
    the same for every operator and every state tab: kept in the shared cache under the orders'
    version, which every change of an order through the services replaces (as the board's copy
    is), so the first page and the state tabs run no count at all until an order changes.
    Changes made outside the services show within `order_reads.TTL`."""
    cap = settings.OPS_COUNT_CAP
    if narrow:
        return status_counts(matching, cap=cap, narrow=True)
    key = f"ops-list-counts:{order_reads.orders_version()}:{cap}"
    counts = cache.get(key)
    if counts is None:
        counts = status_counts(matching, cap=cap)
        cache.set(key, counts, order_reads.TTL)
    return counts


def order_list_counts(params: QueryDict) -> dict[str, object]:
    """The tab counts and the "N matching" of /ops/orders for the query string `params`, as
    the page would show them now (static/js/ops.js refreshes them when orders change)."""
    filterset = OpsOrderFilter(filter_params(params), queryset=order_list_queryset())
    filterset.is_valid()
    selected = filterset.form.cleaned_data.pop("status", None) or []
    counts = list_counts(
        filterset.filter_queryset(filterset.queryset), narrow=narrowed(filterset.form.cleaned_data)
    )
    tabs = ["", *OrderState.values]  # "": the All tab
    return {
        "tabs": {value: counts.label([value] if value else []) for value in tabs},
        "matching": counts.label(selected),
    }


def order_list_page(params: QueryDict, *, page_size: int = PAGE_SIZE) -> OrderListPage:
    """One page of the ops list for the query string `params`, in a fixed number of queries.

    One FilterSet: its state filter is taken out, so the rest of the filters (a search looks its
    customers up once) give the tab counts — each tab says what clicking it would show — and,
    narrowed to the selected states, the rows; the total is the sum of those states' counts.
    """
    filters = filter_params(params)
    filterset = OpsOrderFilter(filters, queryset=order_list_queryset())
    filterset.is_valid()  # invalid values are ignored by the filters and shown on the form
    selected = filterset.form.cleaned_data.pop("status", None) or []
    matching = filterset.filter_queryset(filterset.queryset)
    counts = list_counts(matching, narrow=narrowed(filterset.form.cleaned_data))
    total = counts.total(selected)
    sort_key = filterset.sort_key
    orders = order_by_sort(
        matching.filter(status__in=selected) if selected else matching, sort_key
    ).annotate(changes_asked=changes_asked())
    page = paginate(orders, sort_key=sort_key, params=params, size=page_size, total=total)

    tabs, others = [], filters.copy()
    others.pop("status", None)  # each tab's state goes last in its URL
    for value, label in [("", "All"), *OrderState.choices]:
        states = [value] if value else []
        others.setlist("status", states)
        tabs.append(
            {
                "label": label,
                "value": value,
                "count": counts.label(states),
                "url": list_url(others),
                "active": selected == states,
            }
        )
    rows = list_rows(page.rows)
    return OrderListPage(
        filterset=filterset,
        filters=filters,
        query=filters.urlencode(),
        sort_key=sort_key,
        selected_states=selected,
        tabs=tabs,
        page=page,
        rows=rows,
        rows_html=rows_html(rows),
        links={
            "first": list_url(filters) if page.has_previous else None,
            "previous": list_url(filters, before=page.first_cursor, page=str(page.number - 1))
            if page.has_previous and page.first_cursor
            else None,
            "next": list_url(filters, after=page.last_cursor, page=str(page.number + 1))
            if page.has_next
            else None,
            "last": list_url(filters, last="1") if page.has_next else None,
        },
        total=total,
        total_label=counts.label(selected),
        can_apply_to_all=total is not None and 0 < total <= settings.OPS_BULK_LIMIT,
        bulk_limit=settings.OPS_BULK_LIMIT,
        export_url=reverse("ops:order-export") + (f"?{filters.urlencode()}" if filters else ""),
    )


# --- job tickets ------------------------------------------------------------------------------


def ticket_order_ids(order_ids: list[UUID] | QuerySet[ProductionOrder]) -> list[UUID]:
    """The existing orders among `order_ids`, in ticket order: soonest due first (no due date
    last), then by reference. One query."""
    orders = (
        ProductionOrder.objects.filter(pk__in=order_ids)
        if isinstance(order_ids, list)
        else order_ids
    )
    return list(
        orders.order_by(F("due_date").asc(nulls_last=True), "reference").values_list(
            "pk", flat=True
        )
    )


def ticket_orders(order_ids: list[UUID] | list[str]) -> list[ProductionOrder]:
    """These orders with what a ticket shows (customer, garment, line items and their colours,
    designs and their placements), in the order given. Three queries, however many orders."""
    orders = ProductionOrder.objects.select_related(
        "garment", "owner", "shipping_address"
    ).prefetch_related(
        Prefetch("line_items", queryset=LineItem.objects.select_related("color").order_by("id")),
        Prefetch("designs", queryset=OrderDesign.objects.select_related("placement")),
    )
    by_id = {str(order.pk): order for order in orders.filter(pk__in=order_ids)}
    return [by_id[str(pk)] for pk in order_ids if str(pk) in by_id]
