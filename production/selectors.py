"""Reads of the order domain. Selectors own the joins, so no page or endpoint runs N+1 queries."""

from uuid import UUID

from django.db.models import Prefetch, QuerySet

from production import order_cache
from production.access import is_operator
from production.models import ArtworkProof, FulfillmentEvent, LineItem, ProductionOrder
from production.order_cache import CachedOrder


def order_detail_queryset() -> QuerySet[ProductionOrder]:
    """Orders with everything the order JSON shows, in a fixed number of queries."""
    return ProductionOrder.objects.select_related("garment").prefetch_related(
        Prefetch("line_items", queryset=LineItem.objects.order_by("id")),
        Prefetch("events", queryset=FulfillmentEvent.objects.order_by("occurred_at", "id")),
        Prefetch("proofs", queryset=ArtworkProof.objects.order_by("revision")),
    )


def get_order_detail(*, order_id: UUID | str) -> ProductionOrder | None:
    return order_detail_queryset().filter(pk=order_id).first()


def get_cached_order(*, order_id: UUID | str) -> CachedOrder | None:
    """The order's owner and its API JSON, from the cache when it holds the current version.

    A hit costs no query (see `production.order_cache` for why it is never stale). The JSON is
    shared with other requests: read it, never mutate it.
    """
    from production.api.serializers import OrderOutput  # the serializers import this module

    order_id = UUID(str(order_id))
    version = order_cache.current_version(order_id)
    cached = order_cache.load(order_id, version)
    if cached is None:
        order = get_order_detail(order_id=order_id)
        if order is None:
            order_cache.forget(order_id)  # probing random ids must not fill the cache
            return None
        cached = order_cache.store(order_id, version, order.owner_id, dict(OrderOutput(order).data))
    return cached


def get_order_json(*, order_id: UUID | str) -> dict | None:
    """The JSON of GET /api/production/<id> for this order (read-only), or None."""
    cached = get_cached_order(order_id=order_id)
    return None if cached is None else cached.payload


def orders_visible_to(user: object) -> QuerySet[ProductionOrder]:
    """Operators see every order; a customer sees their own."""
    orders = ProductionOrder.objects.select_related("garment").prefetch_related(
        Prefetch("line_items", queryset=LineItem.objects.order_by("id"))
    )
    if is_operator(user):
        return orders
    return orders.filter(owner=user)


def get_order_for_access(*, order_id: UUID | str) -> ProductionOrder | None:
    """Just enough of an order to decide who may see it (the socket's permission check)."""
    return ProductionOrder.objects.only("id", "owner_id").filter(pk=order_id).first()


def orders_owned_by(user: object) -> QuerySet[ProductionOrder]:
    """A customer's own orders, newest first, with what their order list shows."""
    return (
        ProductionOrder.objects.select_related("garment")
        .filter(owner=user)
        .order_by("-created_at", "-id")
    )
