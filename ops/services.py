"""Bulk work on many orders: each order goes through `production.services` on its own."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from uuid import UUID

from production import broadcasts, services
from production.exceptions import OrderError
from production.lifecycle import EventSource, OrderState, Priority, ProductionStatus
from production.models import ProductionOrder

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# The fields a bulk action may set: the form's allow-list, and the service keyword for each.
BULK_FIELDS: dict[str, tuple[str, type]] = {
    "status": ("status", OrderState),
    "productionStatus": ("production_status", ProductionStatus),
    "priority": ("priority", Priority),
}


@dataclass
class BulkResult:
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "ORD-000123: <why>"


def bulk_update_orders(
    *, order_ids: Iterable[UUID], actor: AbstractBaseUser, field_name: str, value: str
) -> BulkResult:
    """Set one field on many orders, one service call (one transaction) per order.

    Legal changes apply; refused ones are listed with the service's reason and the rest carry on.
    Orders that already have the value are left alone (no event is written for them). The orders,
    with the customer and garment a fulfilment mail names, are read once for all of them.
    """
    attribute, choices = BULK_FIELDS[field_name]
    target = choices(value)
    result = BulkResult()
    orders = (
        ProductionOrder.objects.select_related("owner", "garment")
        .filter(pk__in=list(order_ids))
        .order_by("reference")
    )
    with broadcasts.held_until_done():  # the live pages hear of all of them in one send
        for order in orders:
            _apply(order, attribute, target, actor, result)
    return result


def _apply(
    order: ProductionOrder,
    attribute: str,
    target: object,
    actor: AbstractBaseUser,
    result: BulkResult,
) -> None:
    """One order's change, in its own transaction, reported in `result`."""
    if getattr(order, attribute) == target:
        result.unchanged.append(order.reference)
        return
    try:
        services.update_order(
            order=order, actor=actor, source=EventSource.OPERATOR, **{attribute: target}
        )
    except ProductionOrder.DoesNotExist:
        return  # deleted meanwhile: nothing to do
    except OrderError as error:
        result.skipped.append(error.message)
    else:
        result.changed.append(order.reference)
