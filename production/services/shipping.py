"""Shipments and local pickup: parcels, tracking numbers, corrections, and the pickup notice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.module_loading import import_string

from production import notifications
from production.addresses import ShippingAddressData, clean_address
from production.exceptions import (
    IllegalTransition,
    InvalidAddress,
    InvalidOrder,
    OrderError,
)
from production.lifecycle import (
    Delivery,
    EventSource,
    OrderFacts,
    OrderState,
    actor_of,
    address_correction_refusal,
    correction_refusal,
    parcel_refusal,
    pickup_notice_refusal,
    pickup_refusal,
)
from production.models import (
    FulfillmentEvent,
    LineItem,
    ProductionOrder,
    Shipment,
    ShipmentItem,
    ShippingAddress,
)
from production.services.changes import (
    Change,
    change_state,
    clean_note,
    lock_order,
    save_changes,
)
from production.tracking import Carrier, Tracking, check_tracking

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    User = AbstractBaseUser


# --- shipments and local pickup ------------------------------------------------------------------


@dataclass(frozen=True)
class ShipLine:
    """How many of one line item go in a shipment."""

    line_item_id: int
    quantity: int


def record_shipment(
    *,
    order: ProductionOrder | UUID,
    carrier: str,
    tracking_number: str,
    items: Sequence[ShipLine] | None = None,
    shipped_on: date | None = None,
    tracking_url: str = "",
    actor: User | None,
    source: EventSource = EventSource.OPERATOR,
) -> Shipment:
    """An operator hands a parcel to a carrier: the line items and quantities in it (None: all
    that remain), its tracking (`production.tracking`), the day it left (default: today).

    Only from production status Ready, never for an order the customer collects, and for one to
    ship only with its address (the rulebook's `parcel_refusal`, its reason verbatim). More
    than remains of a line, counting earlier shipments and pickups, is refused and nothing is
    written. The shipment that leaves nothing to ship fulfils the order in the same transaction
    through the rulebook's fulfil move (one state event, once: the order row is locked). Its mail
    is the shipment's, saying the order is complete; no separate "fulfilled" mail is sent.
    """
    tracking = check_tracking(carrier=carrier, number=tracking_number, url=tracking_url)
    shipped_on = _check_shipped_on(shipped_on)
    asked = _check_lines(items)
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    with transaction.atomic(durable=True):
        locked = lock_order(order_id)
        _refuse_parcel(locked, source)
        _check_not_before_payment(locked, shipped_on)
        lines = _lines_to_ship(locked, asked)
        _refuse_known_tracking(locked, tracking)
        shipment = _write_shipment(
            locked,
            lines,
            kind=Shipment.Kind.SHIPMENT,
            shipped_on=shipped_on,
            actor=actor,
            tracking=tracking,
        )
        count = sum(quantity for _, quantity in lines)
        message = f"{count} item{'s' if count != 1 else ''} shipped"
        message += f" by {tracking.carrier.label}" if tracking.carrier != Carrier.OTHER else ""
        message += f", tracking {tracking.number}"
        if locked.shipped_quantity < locked.total_quantity:
            message += f" ({locked.shipped_quantity} of {locked.total_quantity} items shipped)"
        change = Change(
            kind=FulfillmentEvent.Kind.SHIPMENT,
            field="shipment",
            before=None,
            after=_tracking_words(tracking),
            status="Shipped",
            message=message,
            metadata=_shipment_metadata(locked, shipment, lines),
        )
        fulfil = _fulfil_if_complete(
            locked, source=source, actor=actor, message="Order fulfilled: every item has shipped"
        )
        save_changes(locked, [change, *fulfil], actor=actor, source=source)
        notifications.shipment_sent(
            order=locked, shipment=shipment, items=_mail_items(lines), complete=bool(fulfil)
        )
        # Apps the domain does not import follow a parcel in this transaction (the store app
        # queues its fulfilment): a shipment that commits has what follows it on record.
        for hook in settings.ORDER_SHIPPED:
            import_string(hook)(order=locked, shipment=shipment)
    return shipment


def announce_pickup(
    *, order: ProductionOrder | UUID, actor: User | None, source: EventSource = EventSource.OPERATOR
) -> FulfillmentEvent:
    """Tell the customer their order waits at the shop: one event and one mail with the shop's
    address and hours (PICKUP_ADDRESS, PICKUP_HOURS). Once per order; "picked up" fulfils it."""
    address = settings.PICKUP_ADDRESS.strip()
    if not address:
        raise OrderError(
            "Local pickup is not set up: the shop's PICKUP_ADDRESS setting is empty.",
            field="pickup",
        )
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    with transaction.atomic(durable=True):
        locked = lock_order(order_id)
        _refuse_pickup(locked, source)
        refused = pickup_notice_refusal(
            OrderFacts.of(locked),
            actor=actor_of(source),
            told_at=locked.pickup_ready_at,
            delivery=locked.delivery,
        )
        if refused:  # the customer was told already (the pickup's refusal was raised above)
            raise OrderError(f"{locked.reference}: {refused}", field="pickup")
        locked.pickup_ready_at = timezone.now()
        hours = settings.PICKUP_HOURS.strip()
        change = Change(
            kind=FulfillmentEvent.Kind.PICKUP,
            field="shipment",
            before=None,
            after="ready for pickup",
            status="Ready for pickup",
            message=f"Ready for pickup at {address}" + (f" ({hours})" if hours else ""),
            metadata={"pickup": "ready", "address": address, "hours": hours},
        )
        [event] = save_changes(locked, [change], actor=actor, source=source)
        notifications.pickup_ready(order=locked, address=address, hours=hours)
    return event


def record_pickup(
    *,
    order: ProductionOrder | UUID,
    actor: User | None,
    picked_up_on: date | None = None,
    source: EventSource = EventSource.OPERATOR,
) -> Shipment:
    """The customer collected everything still at the shop: a pickup of the remaining items,
    which fulfils the order (one state event, one mail)."""
    picked_up_on = _check_shipped_on(picked_up_on)
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    with transaction.atomic(durable=True):
        locked = lock_order(order_id)
        _refuse_pickup(locked, source)
        _check_not_before_payment(locked, picked_up_on)
        lines = _lines_to_ship(locked, None)
        shipment = _write_shipment(
            locked, lines, kind=Shipment.Kind.PICKUP, shipped_on=picked_up_on, actor=actor
        )
        count = sum(quantity for _, quantity in lines)
        change = Change(
            kind=FulfillmentEvent.Kind.PICKUP,
            field="shipment",
            before=None,
            after="picked up",
            status="Picked up",
            message=f"Picked up at the shop ({count} item{'s' if count != 1 else ''})",
            metadata=_shipment_metadata(locked, shipment, lines),
        )
        fulfil = _fulfil_if_complete(
            locked, source=source, actor=actor, message="Order fulfilled: picked up at the shop"
        )
        save_changes(locked, [change, *fulfil], actor=actor, source=source)
        notifications.picked_up(order=locked, shipment=shipment, items=_mail_items(lines))
    return shipment


def correct_shipment(
    *,
    order: ProductionOrder | UUID,
    shipment_id: int,
    carrier: str,
    tracking_number: str,
    tracking_url: str = "",
    note: str = "",
    actor: User | None,
    source: EventSource = EventSource.OPERATOR,
) -> Shipment:
    """Fix a recorded shipment's carrier or tracking number (also after fulfilment). Never a
    silent edit: the event keeps the old and new values on the timeline, and the customer gets
    the new link by mail. The same values again change nothing (a retry is safe)."""
    tracking = check_tracking(carrier=carrier, number=tracking_number, url=tracking_url)
    note = clean_note(note)
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    with transaction.atomic(durable=True):
        locked = lock_order(order_id)
        refused = correction_refusal(OrderFacts.of(locked), actor=actor_of(source))
        if refused:
            raise IllegalTransition(f"{locked.reference}: {refused}", field="shipment")
        shipment = locked.shipments.filter(pk=shipment_id, kind=Shipment.Kind.SHIPMENT).first()
        if shipment is None:
            raise OrderError(
                f"{locked.reference} has no such shipment (a pickup has no tracking).",
                field="shipment",
            )
        previous = Tracking(
            Carrier(shipment.carrier), shipment.tracking_number, shipment.tracking_url
        )
        if previous == tracking:
            return shipment
        _refuse_known_tracking(locked, tracking, other_than=shipment)
        shipment.carrier, shipment.tracking_number, shipment.tracking_url = (
            tracking.carrier,
            tracking.number,
            tracking.url,
        )
        shipment.save(update_fields=["carrier", "tracking_number", "tracking_url", "updated_at"])
        message = f"Tracking corrected: {_tracking_words(previous)} → {_tracking_words(tracking)}"
        change = Change(
            kind=FulfillmentEvent.Kind.SHIPMENT,
            field="shipment",
            before=_tracking_words(previous),
            after=_tracking_words(tracking),
            status="Shipment corrected",
            message=f"{message}: {note}" if note else message,
            metadata={
                "shipment": shipment.pk,
                "correction": True,
                "carrier": tracking.carrier.value,
                "trackingNumber": tracking.number,
                "trackingUrl": tracking.url or None,
                "previous": {
                    "carrier": previous.carrier.value,
                    "trackingNumber": previous.number,
                    "trackingUrl": previous.url or None,
                },
            },
        )
        save_changes(locked, [change], actor=actor, source=source)
        notifications.shipment_corrected(order=locked, shipment=shipment)
        for hook in settings.ORDER_SHIPPED:  # the store's fulfilment gets the new tracking
            import_string(hook)(order=locked, shipment=shipment)
    return shipment


def correct_shipping_address(
    *,
    order: ProductionOrder | UUID,
    address: Mapping[str, object] | ShippingAddressData,
    actor: User | None,
    note: str = "",
    source: EventSource = EventSource.OPERATOR,
) -> ShippingAddress:
    """An operator corrects the order's shipping address (or adds the one an order from before
    the delivery choice lacks, which then ships): validated as at order time (`clean_address`,
    InvalidAddress per field), only until the first parcel leaves (the rulebook's
    `address_correction_refusal`). The event keeps the old and the new address in its metadata
    (the order JSON, read by its owner and operators only) and the customer is mailed the new one.
    The same address again changes nothing, unless the stored one was flagged for checking
    (`address_check`): saving it then confirms it. The price stays as paid."""
    clean = clean_address(address.as_api() if isinstance(address, ShippingAddressData) else address)
    note = clean_note(note)
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    with transaction.atomic(durable=True):
        locked = lock_order(order_id)
        refused = address_correction_refusal(
            OrderFacts.of(locked), actor=actor_of(source), delivery=locked.delivery
        )
        if refused:
            raise IllegalTransition(f"{locked.reference}: {refused}", field="shipping")
        stored = ShippingAddress.objects.filter(order=locked).first()
        previous = ShippingAddressData.of(stored) if stored is not None else None
        if previous == clean and not _needs_check(locked):
            return stored
        if stored is None:
            stored = ShippingAddress(order=locked)
        for field, value in clean.as_model_fields().items():
            setattr(stored, field, value)
        stored.save()
        locked.delivery = Delivery.SHIPPING
        message = "Delivery address corrected" if previous else "Delivery address added"
        change = Change(
            kind=FulfillmentEvent.Kind.ADDRESS,
            field="shipping",
            before=None,
            after=None,
            status=message,
            message=f"{message}: {note}" if note else message,
            metadata={
                "shipping": clean.as_api(),
                "previous": previous.as_api() if previous else None,
                "correction": True,
            },
        )
        save_changes(locked, [change], actor=actor, source=source)
        notifications.address_corrected(order=locked, address=clean)
    return stored


def record_checkout_address_in_transaction(
    *, order: ProductionOrder, address: Mapping[str, object]
) -> ShippingAddress | None:
    """The address the customer gave on Stripe Checkout (which collects one when the order has
    none: an API order without `shipping`), stored on the paid order in the webhook's
    transaction; `order` is locked by the caller. `address` in the API's field names.

    Checked like any other (`clean_address`). One that fails is stored all the same, as given
    (cut to the columns' lengths), and flagged: its event says why, and operators see that it
    needs checking (`address_check`) until one corrects it. Nothing is refused: the payment is
    in. An order for pickup, or one with its address already, keeps what it has (None). The
    order then ships at the price it was paid (an unknown delivery becomes shipping)."""
    if order.delivery == Delivery.PICKUP or ShippingAddress.objects.filter(order=order).exists():
        return None
    try:
        data = clean_address(address)
        errors: dict[str, list[str]] = {}
    except InvalidAddress as exc:
        data = _as_given(address)
        errors = exc.details
    stored = ShippingAddress.objects.create(order=order, **data.as_model_fields())
    order.delivery = Delivery.SHIPPING
    status = "Delivery address given at checkout"
    change = Change(
        kind=FulfillmentEvent.Kind.ADDRESS,
        field="shipping",
        before=None,
        after=None,
        status=status,
        message=f"{status}: the shop will check it" if errors else status,
        metadata={
            "shipping": data.as_api(),
            "previous": None,
            "checkout": True,
            "needsCheck": bool(errors),
            "errors": errors,
        },
    )
    save_changes(order, [change], actor=None, source=EventSource.STRIPE)
    return stored


def address_check(order: ProductionOrder) -> dict[str, list[str]] | None:
    """Why the order's address needs an operator's check (its errors per field), or None: the
    address stored from Checkout failed `clean_address` and no one has corrected it since. Reads
    the order's events (prefetched by the ops page: no query)."""
    latest = None
    for event in order.events.all():
        if event.kind == FulfillmentEvent.Kind.ADDRESS:
            latest = event
    metadata = (latest.metadata or {}) if latest is not None else {}
    if not metadata.get("needsCheck"):
        return None
    return metadata.get("errors") or {"shipping": ["Not checked."]}


def _needs_check(order: ProductionOrder) -> bool:
    latest = (
        FulfillmentEvent.objects.filter(order=order, kind=FulfillmentEvent.Kind.ADDRESS)
        .order_by("-occurred_at", "-id")
        .values_list("metadata", flat=True)
        .first()
    )
    return bool((latest or {}).get("needsCheck"))


def _as_given(address: Mapping[str, object]) -> ShippingAddressData:
    """An address that failed `clean_address`, kept as given: strings only, on one line each,
    cut to what the columns hold."""

    def text(api_field: str, column: str) -> str:
        value = address.get(api_field) if isinstance(address, Mapping) else None
        value = " ".join(value.split()) if isinstance(value, str) else ""
        return value[: ShippingAddress._meta.get_field(column).max_length]

    return ShippingAddressData(
        name=text("name", "name"),
        address1=text("address1", "address1"),
        address2=text("address2", "address2"),
        city=text("city", "city"),
        state_code=text("stateCode", "state_code"),
        country_code=text("countryCode", "country_code").upper(),
        postal_code=text("zip", "postal_code"),
        phone=text("phone", "phone"),
    )


def _refuse_parcel(order: ProductionOrder, source: EventSource) -> None:
    has_address = (
        order.delivery == Delivery.SHIPPING and ShippingAddress.objects.filter(order=order).exists()
    )
    refused = parcel_refusal(
        OrderFacts.of(order),
        actor=actor_of(source),
        delivery=order.delivery,
        has_address=has_address,
    )
    if refused:
        raise IllegalTransition(f"{order.reference}: {refused}", field="shipment")


def _refuse_pickup(order: ProductionOrder, source: EventSource) -> None:
    refused = pickup_refusal(OrderFacts.of(order), actor=actor_of(source), delivery=order.delivery)
    if refused:
        raise IllegalTransition(f"{order.reference}: {refused}", field="shipment")


def _check_shipped_on(day: date | None) -> date:
    today = timezone.localdate()
    if day is None:
        return today
    if day > today:
        raise OrderError("The shipped date cannot be in the future.", field="shippedOn")
    return day


def _check_not_before_payment(order: ProductionOrder, day: date) -> None:
    if order.submitted_at is not None and day < timezone.localdate(order.submitted_at):
        raise OrderError(
            "The shipped date cannot be before the order was paid "
            f"({timezone.localdate(order.submitted_at).isoformat()}).",
            field="shippedOn",
        )


def _check_lines(items: Sequence[ShipLine] | None) -> dict[int, int] | None:
    """The quantities asked for per line item (zero lines left out); None: all that remain."""
    if items is None:
        return None
    asked: dict[int, int] = {}
    for line in items:
        if line.line_item_id in asked:
            raise OrderError("Each line item may appear once in a shipment.", field="items")
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int):
            raise OrderError("Quantities are whole numbers.", field="items")
        if line.quantity < 0:
            raise OrderError("Quantities cannot be negative.", field="items")
        asked[line.line_item_id] = line.quantity
    asked = {line_id: quantity for line_id, quantity in asked.items() if quantity}
    if not asked:
        raise OrderError("Put at least one item in the shipment.", field="items")
    return asked


def _lines_to_ship(
    order: ProductionOrder, asked: dict[int, int] | None
) -> list[tuple[LineItem, int]]:
    """The line items and quantities leaving now, checked against what remains (read under the
    order's lock, so two operators cannot both ship the last items)."""
    items = list(order.line_items.order_by("id"))
    shipped = dict(
        ShipmentItem.objects.filter(shipment__order=order)
        .order_by()
        .values_list("line_item")
        .annotate(total=Sum("quantity"))
    )
    remaining = {item.pk: item.quantity - shipped.get(item.pk, 0) for item in items}
    if asked is None:
        lines = [(item, remaining[item.pk]) for item in items if remaining[item.pk] > 0]
        if not lines:
            raise OrderError(f"{order.reference}: nothing is left to ship.", field="items")
        return lines
    unknown = sorted(set(asked) - set(remaining))
    if unknown:
        raise OrderError(f"Line item {unknown[0]} is not part of {order.reference}.", field="items")
    errors = []
    for item in items:
        wanted = asked.get(item.pk, 0)
        if wanted > remaining[item.pk]:
            already = shipped.get(item.pk, 0)
            errors.append(
                f"Size {item.size}: {wanted} asked, but only {remaining[item.pk]} of "
                f"{item.quantity} left to ship"
                + (f" ({already} already shipped or picked up)." if already else ".")
            )
    if errors:
        raise InvalidOrder({"items": errors})
    return [(item, asked[item.pk]) for item in items if item.pk in asked]


def _write_shipment(
    order: ProductionOrder,
    lines: list[tuple[LineItem, int]],
    *,
    kind: str,
    shipped_on: date,
    actor: User | None,
    tracking: Tracking | None = None,
) -> Shipment:
    shipment = Shipment.objects.create(
        order=order,
        kind=kind,
        carrier=tracking.carrier if tracking else "",
        tracking_number=tracking.number if tracking else "",
        tracking_url=tracking.url if tracking else "",
        shipped_on=shipped_on,
        recorded_by=actor,
    )
    ShipmentItem.objects.bulk_create(
        ShipmentItem(shipment=shipment, line_item=item, quantity=quantity)
        for item, quantity in lines
    )
    order.shipped_quantity += sum(quantity for _, quantity in lines)
    return shipment


def _fulfil_if_complete(
    order: ProductionOrder, *, source: EventSource, actor: User | None, message: str
) -> list[Change]:
    """The fulfil move, through the rulebook like every state change, once nothing is left."""
    if order.shipped_quantity < order.total_quantity:
        return []
    change = change_state(order, OrderState.FULFILLED, source=source, actor=actor)
    change.message = message
    return [change]


def _refuse_known_tracking(
    order: ProductionOrder, tracking: Tracking, *, other_than: Shipment | None = None
) -> None:
    """A tracking number is recorded once per order and carrier (a shipment being corrected does
    not clash with itself)."""
    clash = order.shipments.filter(
        kind=Shipment.Kind.SHIPMENT, carrier=tracking.carrier, tracking_number=tracking.number
    )
    if other_than is not None:
        clash = clash.exclude(pk=other_than.pk)
    if clash.exists():
        raise OrderError(
            f"{_tracking_words(tracking)} is already recorded on {order.reference}.",
            field="trackingNumber",
        )


def _tracking_words(tracking: Tracking) -> str:
    if tracking.carrier == Carrier.OTHER:
        return tracking.number
    return f"{tracking.carrier.label} {tracking.number}"


def _shipment_metadata(
    order: ProductionOrder, shipment: Shipment, lines: list[tuple[LineItem, int]]
) -> dict:
    # Customer-visible (the timeline's JSON): what left, and how far the order is.
    return {
        "shipment": shipment.pk,
        "kind": shipment.kind,
        "carrier": shipment.carrier or None,
        "trackingNumber": shipment.tracking_number or None,
        "trackingUrl": shipment.tracking_url or None,
        "shippedOn": shipment.shipped_on.isoformat(),
        "items": [
            {"lineItemId": str(item.pk), "size": item.size, "quantity": quantity}
            for item, quantity in lines
        ],
        "shippedQuantity": order.shipped_quantity,
        "totalQuantity": order.total_quantity,
    }


def _mail_items(lines: list[tuple[LineItem, int]]) -> list[dict]:
    return [{"size": item.size, "quantity": quantity} for item, quantity in lines]
