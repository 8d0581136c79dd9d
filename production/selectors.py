"""Reads of the order domain. Selectors own the joins, so no page or endpoint runs N+1 queries."""

from typing import Any, TypeVar
from uuid import UUID

from django.core.cache import cache
from django.db import connections, router
from django.db.models import (
    BooleanField,
    Case,
    Exists,
    ExpressionWrapper,
    Model,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
    prefetch_related_objects,
)
from django.db.transaction import TransactionManagementError
from django.http import HttpRequest

from artwork.models import PreflightReport, Verdict
from production import order_reads
from production.accounts.access import is_operator
from production.lifecycle import OrderState
from production.models import (
    OPERATOR_ONLY_KINDS,
    ArtworkProof,
    FulfillmentEvent,
    Garment,
    GarmentColor,
    LineItem,
    OrderDesign,
    Placement,
    PlacementCode,
    ProductionOrder,
    Shipment,
    ShipmentItem,
    Variant,
)
from production.order_json import garment_catalogue_json, garment_json, order_json
from production.order_reads import CachedOrder

M = TypeVar("M", bound=Model)


def order_detail_queryset() -> QuerySet[ProductionOrder]:
    """Orders with everything the order JSON shows but the garment's catalogue (its colours and
    placements: `garment_catalogue`), in a fixed number of queries. The JSON is the customer's
    too: operator-only events (job tickets printed) stay out of it."""
    customer_events = FulfillmentEvent.objects.exclude(kind__in=OPERATOR_ONLY_KINDS)
    return ProductionOrder.objects.select_related("garment", "shipping_address").prefetch_related(
        line_items_prefetch(),
        designs_prefetch(),
        Prefetch("events", queryset=customer_events.order_by("occurred_at", "id")),
        Prefetch("proofs", queryset=ArtworkProof.objects.order_by("revision")),
        shipments_prefetch(),
    )


def line_items_prefetch() -> Prefetch:
    """An order's line items with their colour, in one query."""
    return Prefetch("line_items", queryset=LineItem.objects.select_related("color").order_by("id"))


def designs_prefetch() -> Prefetch:
    """An order's designs with their placement, the front first, in one query."""
    front_first = Case(When(placement__code=PlacementCode.FRONT, then=Value(0)), default=Value(1))
    return Prefetch(
        "designs",
        queryset=OrderDesign.objects.select_related("placement").order_by(
            front_first, "placement__position", "id"
        ),
    )


def shipments_prefetch() -> Prefetch:
    """An order's shipments with their items and the items' line (size), in two queries."""
    return Prefetch(
        "shipments",
        queryset=Shipment.objects.order_by("created_at", "id").prefetch_related(
            Prefetch("items", queryset=ShipmentItem.objects.select_related("line_item"))
        ),
    )


def only_row(queryset: QuerySet[M]) -> M | None:
    """The one row a filter on a unique column matches, or None: `first()` without the ORDER BY
    it adds, nor the model's default ordering (`.order_by()`), whose compiling costs ~0.35 ms a
    query on the hottest reads (an order's JSON, a socket's access check, the webhook's locked
    order) for a row that is one anyway."""
    return next(iter(queryset.order_by()[:1]), None)


# (database alias, model) → the locked read's SQL, its columns, and what converts their values.
_LOCKED_READS: dict[tuple[str, type[Model]], tuple[str, list[str], Any, list]] = {}


def locked_row(model: type[M], pk: Any) -> M | None:
    """`only_row(model.objects.select_for_update().filter(pk=pk))`, its SQL compiled once per
    model and database: compiling a wide row's columns cost more CPU than the statement's round
    trip on a Stripe webhook's first delivery (bench/webhook.py). The statement, its execute
    wrappers, the values' converters and the instance are Django's own."""
    using = router.db_for_write(model)
    connection = connections[using]
    # The compiler's own check, which a compiled statement no longer passes through.
    if connection.features.has_select_for_update and connection.get_autocommit():
        raise TransactionManagementError(
            "select_for_update cannot be used outside of a transaction."
        )
    compiled = _LOCKED_READS.get((using, model))
    if compiled is None:
        query = model._default_manager.select_for_update().filter(pk=pk).order_by()[:1].query
        compiler = query.get_compiler(using)
        sql, _params = compiler.as_sql()
        columns = [column for column, _, _ in compiler.select]
        converters = compiler.get_converters(columns)
        names = [column.target.attname for column in columns]
        compiled = _LOCKED_READS[(using, model)] = (sql, names, compiler, converters)
    sql, names, compiler, converters = compiled
    with connection.cursor() as cursor:
        cursor.execute(sql, [model._meta.pk.get_db_prep_value(pk, connection)])
        row = cursor.fetchone()
    if row is None:
        return None
    if converters:
        row = next(compiler.apply_converters([row], converters))
    return model.from_db(using, names, row)


def get_order_detail(*, order_id: UUID | str) -> ProductionOrder | None:
    return only_row(order_detail_queryset().filter(pk=order_id))


def get_cached_order(
    *, order_id: UUID | str, request: HttpRequest | None = None
) -> CachedOrder | None:
    """The order's owner and API JSON, or None. A hit costs no query (why it is current: see
    `production.order_reads`); pass the request to use the version its authentication read ahead.
    The JSON is shared with other requests: read it, never mutate it."""
    try:
        order_id = UUID(str(order_id))
    except ValueError:
        return None
    return order_reads.read_order(order_id, load=_owner_and_json, request=request)


def _owner_and_json(order_id: UUID) -> tuple[int, dict] | None:
    order = get_order_detail(order_id=order_id)
    if order is None:
        return None
    return order.owner_id, order_json(order, catalogue=garment_catalogue(order.garment))


CATALOGUE_TTL = 10  # seconds: see `garment_catalogue`


def garment_catalogue(garment: Garment | None) -> dict | None:
    """The garment with its colours (and their sizes in stock) and placements as the order JSON
    shows them. The colours and placements are the same for every order of the garment, so they
    are kept in the shared cache for CATALOGUE_TTL seconds instead of three queries in every
    order's read; the garment's own fields come from its row, read with the order. Keyed by the
    garment's `updated_at` as well: a garment saved shows at once; a colour, stock or placement
    change made without saving the garment shows within CATALOGUE_TTL (in an order's cached JSON,
    within `order_reads.TTL` more, as any change made outside the order services)."""
    if garment is None:
        return None
    key = f"garment-catalogue:{garment.pk}:{garment.updated_at.timestamp()}"
    parts = cache.get(key)
    if parts is None:
        prefetch_related_objects(
            [garment],
            Prefetch(
                "colors",
                # The variants by id: the model's ordering (by garment, so by its name) joins
                # two tables for an order `color_sizes_in_stock` does not use.
                queryset=GarmentColor.objects.order_by("position", "id").prefetch_related(
                    Prefetch("variants", queryset=Variant.objects.order_by("id"))
                ),
            ),
            Prefetch("placements", queryset=Placement.objects.order_by("position", "id")),
        )
        catalogue = garment_catalogue_json(garment)
        parts = {"colors": catalogue["colors"], "placements": catalogue["placements"]}
        cache.set(key, parts, CATALOGUE_TTL)
    return {**garment_json(garment), **parts}


def existing_order_id(*, order_id: UUID | str) -> UUID | None:
    """The order's id if it exists (one query, no JSON read or cached): for a change about to be
    made, whose version would replace whatever a full read had just stored."""
    try:
        order_id = UUID(str(order_id))
    except ValueError:
        return None
    return order_id if ProductionOrder.objects.filter(pk=order_id).exists() else None


def get_order_json(*, order_id: UUID | str) -> dict | None:
    """The JSON of GET /api/production/<id> for this order (read-only), or None."""
    cached = get_cached_order(order_id=order_id)
    return None if cached is None else cached.payload


def orders_visible_to(user: object) -> QuerySet[ProductionOrder]:
    """Operators see every order; a customer sees their own."""
    orders = ProductionOrder.objects.select_related("garment").prefetch_related(
        line_items_prefetch()
    )
    if is_operator(user):
        return orders
    return orders.filter(owner=user)


def get_order_for_access(*, order_id: UUID | str) -> ProductionOrder | None:
    """Just enough of an order to decide who may see it (the socket's permission check)."""
    return only_row(ProductionOrder.objects.only("id", "owner_id").filter(pk=order_id))


def changes_requested() -> Case:
    """An annotation (`has_changes_requested`, read by `ProductionOrder.changes_requested`): the
    customer asked for changes to the last proof and no new one is out yet."""
    asked = Exists(
        ArtworkProof.objects.filter(
            order=OuterRef("pk"), state=ArtworkProof.State.CHANGES_REQUESTED
        )
    )
    return Case(
        When(
            Q(status=OrderState.SUBMITTED, waiting_proof_revision__isnull=True) & asked,
            then=Value(True),
        ),
        default=Value(False),
    )


def orders_owned_by(user: object) -> QuerySet[ProductionOrder]:
    """A customer's own orders, those waiting for the customer's answer first (`answer_needed`: a
    proof to approve, or an unpaid order's artwork warnings to acknowledge before paying), then
    newest first, with what their order list shows."""
    warnings_unread = Exists(
        PreflightReport.objects.filter(
            order=OuterRef("pk"),
            verdict=Verdict.WARNING,
            acknowledged_at__isnull=True,
            overridden_at__isnull=True,
        )
    )
    answer_needed = ExpressionWrapper(
        Q(waiting_proof_revision__isnull=False) | (Q(status=OrderState.DRAFT) & warnings_unread),
        BooleanField(),
    )
    return (
        ProductionOrder.objects.select_related("garment")
        .filter(owner=user)
        .annotate(has_changes_requested=changes_requested(), answer_needed=answer_needed)
        .order_by("-answer_needed", "-created_at", "-id")
    )
