"""Orders paid in the shop's online store (Shopify): created submitted, cancelled by the store.

The store app (`shopify/`) reads the store's order, finds the variants and designs it names and
calls these in its own transaction, with its record of the store order, so a crash between the
two can neither lose the order nor create it twice. The rulebook decides as for every order:
the store confirms payment (draft → submitted) and may cancel only until production starts
(`Actor.STORE`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from uuid import UUID

from production.exceptions import InvalidOrder
from production.lifecycle import (
    STATUS_MAP,
    Actor,
    Delivery,
    EventSource,
    OrderFacts,
    OrderState,
    Priority,
    move_refusal,
)
from production.models import (
    FulfillmentEvent,
    Garment,
    LineItem,
    OrderDesign,
    OrderNote,
    Placement,
    PlacementCode,
    ProductionOrder,
    ReferenceNumber,
    ShippingAddress,
    Technique,
    Variant,
    technique_bits,
)
from production.pricing import SizeQuantity, quote_order
from production.services.changes import (
    change_priority,
    change_state,
    lock_order,
    record_change,
    require_transaction,
    save_changes,
)
from production.services.orders import clean_delivery

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    User = AbstractBaseUser

MAX_EXTERNAL_REFERENCE = ProductionOrder._meta.get_field("external_reference").max_length


@dataclass(frozen=True)
class StoreLine:
    """One line of a store order: a variant of the garment, how many."""

    variant: Variant
    quantity: int


@dataclass(frozen=True)
class StoreOrder:
    """A store order (or the part of it printed on one garment with one set of designs), as the
    store app found it in the catalogue. `hold_reasons`: what an operator must sort out first, in
    words (a missing design, an address the shop cannot ship to); the order then enters on hold
    with each reason as an internal note, never refused."""

    owner: User
    garment: Garment
    lines: Sequence[StoreLine]
    designs: Sequence[tuple[Placement, str]]
    external_reference: str
    delivery: str | None = None
    shipping: Mapping[str, object] | None = None
    hold_reasons: Sequence[str] = field(default_factory=tuple)
    notes: str = ""
    metadata: Mapping[str, object] = field(default_factory=dict)


def create_store_order_in_transaction(store: StoreOrder) -> tuple[ProductionOrder, list[LineItem]]:
    """A paid store order, created submitted (and on hold when it has `hold_reasons`), priced by
    the catalogue like any order. Returns it and its line items in the order of `store.lines`.

    The caller owns the transaction (its record of the store order makes the creation happen
    once). An address the shop cannot ship to does not refuse the order: it enters with delivery
    unknown, on hold with the reason, and an operator corrects the address. Lines that are not of
    `store.garment` raise InvalidOrder (a programming error of the caller), nothing written.
    """
    require_transaction()
    if not store.lines:
        raise InvalidOrder({"lines": ["A store order needs at least one line."]})
    if any(line.variant.garment_id != store.garment.pk for line in store.lines):
        raise InvalidOrder({"lines": ["Every line must be a variant of the order's garment."]})
    reasons = [reason for reason in store.hold_reasons if reason]
    try:
        delivery, address = clean_delivery(store.delivery, store.shipping)
    except InvalidOrder as exc:
        problems = "; ".join(
            f"{name}: {' '.join(str(m) for m in messages)}"
            for name, messages in exc.details.items()
        )
        reasons.append(f"The store's delivery could not be used ({problems}): correct it.")
        delivery, address = Delivery.UNKNOWN, None
    front = next((url for placement, url in store.designs if placement.code == "front"), "")
    extra = [placement for placement, _ in store.designs if placement.code != PlacementCode.FRONT]
    sizes = [
        SizeQuantity(line.variant.size, line.quantity, line.variant.color.name)
        for line in store.lines
    ]
    quote = quote_order(
        garment=store.garment,
        sizes=sizes,
        priority=Priority.STANDARD,
        variants=[line.variant for line in store.lines],
        extra_placements=extra,
        delivery=delivery,
        country_code=address.country_code if address else "",
    )
    number = ReferenceNumber.objects.create()
    order = ProductionOrder.objects.create(
        reference=str(number),
        owner=store.owner,
        status=OrderState.DRAFT,
        production_status=STATUS_MAP[OrderState.DRAFT],
        priority=Priority.STANDARD,
        design_url=front,
        notes=store.notes,
        garment=store.garment,
        subtotal_amount=quote.subtotal,
        rush_surcharge_amount=quote.rush_surcharge,
        shipping_amount=quote.shipping,
        total_amount=quote.total,
        currency=quote.currency,
        total_quantity=quote.total_quantity,
        delivery=delivery,
        external_reference=store.external_reference[:MAX_EXTERNAL_REFERENCE],
        technique_bits=technique_bits([Technique.DTG]),
    )
    items = LineItem.objects.bulk_create(
        LineItem(
            order=order,
            color=line.variant.color,
            size=line.variant.size,
            sku=line.variant.sku,
            quantity=line.quantity,
            technique=Technique.DTG,
            unit_amount=priced.unit_amount,
        )
        for line, priced in zip(store.lines, quote.lines, strict=True)
    )
    OrderDesign.objects.bulk_create(
        OrderDesign(order=order, placement=placement, url=url) for placement, url in store.designs
    )
    if address is not None:
        ShippingAddress.objects.create(order=order, **address.as_model_fields())
    record_change(
        order,
        kind=FulfillmentEvent.Kind.CREATED,
        status=order.production_status,
        message=f"Order created from store order {order.external_reference}",
        actor=None,
        source=EventSource.STORE,
        change=("status", None, OrderState.DRAFT),
        extra=dict(store.metadata) or None,
    )
    changes = [change_state(order, OrderState.SUBMITTED, source=EventSource.STORE)]
    changes[0].metadata = dict(store.metadata) or None
    if reasons:
        changes.append(change_priority(order, Priority.HOLD))
    save_changes(
        order,
        changes,
        actor=None,
        source=EventSource.STORE,
        extra_fields=["submitted_at", "due_date"],
    )
    OrderNote.objects.bulk_create(
        OrderNote(order=order, author=None, body=f"On hold: {reason}") for reason in reasons
    )
    return order, items


def cancel_store_order_in_transaction(
    *, order: ProductionOrder | UUID, reason: str
) -> tuple[ProductionOrder, str]:
    """The store cancelled the order: cancel it here if the rulebook lets the store (nothing
    printed yet), else tell the operators with an internal note. Returns the order and "" when it
    was cancelled now, or the words that say why not (an order already cancelled: why too).

    Nothing is refunded here: the store refunded its customer; no payment of this shop exists."""
    require_transaction()
    locked = lock_order(order.pk if isinstance(order, ProductionOrder) else order)
    if locked.status == OrderState.CANCELED:
        return locked, f"{locked.reference} is already canceled."
    refused = move_refusal(OrderFacts.of(locked), OrderState.CANCELED, actor=Actor.STORE)
    if refused:
        OrderNote.objects.create(
            order=locked,
            author=None,
            body=(
                f"The store cancelled {locked.external_reference or 'this order'} ({reason}), "
                f"but it was not canceled here: {refused} Decide with the store whether to "
                "stop it."
            ),
        )
        return locked, refused
    change = change_state(locked, OrderState.CANCELED, source=EventSource.STORE, reason=reason)
    change.message = reason
    save_changes(locked, [change], actor=None, source=EventSource.STORE)
    return locked, ""
