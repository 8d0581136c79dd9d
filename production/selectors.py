"""Reads of the order domain. Selectors own the joins, so no page or endpoint runs N+1 queries."""

from dataclasses import dataclass
from uuid import UUID

from django.core.cache import cache
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from production.access import is_operator
from production.models import FulfillmentEvent, LineItem, ProductionOrder


def order_detail_queryset() -> QuerySet[ProductionOrder]:
    """Orders with everything the order JSON shows, in a fixed number of queries."""
    return ProductionOrder.objects.select_related("garment").prefetch_related(
        Prefetch("line_items", queryset=LineItem.objects.order_by("id")),
        Prefetch("events", queryset=FulfillmentEvent.objects.order_by("occurred_at", "id")),
    )


def get_order_detail(*, order_id: UUID | str) -> ProductionOrder | None:
    return order_detail_queryset().filter(pk=order_id).first()


ORDER_JSON_TTL = 600  # seconds; the key changes with every change anyway


@dataclass(frozen=True)
class OrderHead:
    """Just enough of an order to authorize a read of it."""

    pk: UUID
    owner_id: int


def get_order_json(*, order_id: UUID | str) -> tuple[OrderHead, dict] | None:
    """The order's owner and its API JSON, cached per version of the order.

    Every change to an order goes through a service that saves its `updated_at`, and events are
    append-only, so (order.updated_at, garment.updated_at, today) names one version of the JSON
    (`etaDays` depends on the date). A cache hit costs one narrow query instead of three.
    """
    from production.api.serializers import OrderOutput  # the serializers import this module

    # values_list: no model instances for the hot path, only what names the version.
    row = (
        ProductionOrder.objects.filter(pk=order_id)
        .values_list("pk", "owner_id", "updated_at", "garment__updated_at")
        .first()
    )
    if row is None:
        return None
    pk, owner_id, updated_at, garment_updated_at = row
    head = OrderHead(pk=pk, owner_id=owner_id)
    version = f"{updated_at.timestamp()}:{garment_updated_at.timestamp()}"
    key = f"order-json:{pk}:{version}:{timezone.localdate().isoformat()}"
    payload = cache.get(key)
    if payload is None:
        order = get_order_detail(order_id=order_id)
        if order is None:  # deleted between the two queries
            return None
        payload = dict(OrderOutput(order).data)
        cache.set(key, payload, ORDER_JSON_TTL)
    return head, payload


def orders_visible_to(user: object) -> QuerySet[ProductionOrder]:
    """Operators see every order; a customer sees their own."""
    orders = ProductionOrder.objects.select_related("garment").prefetch_related(
        Prefetch("line_items", queryset=LineItem.objects.order_by("id"))
    )
    if is_operator(user):
        return orders
    return orders.filter(owner=user)
