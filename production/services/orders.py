"""Placing, paying and changing an order: the one way its state, step and priority change."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Required, TypedDict, Unpack
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from production import broadcasts, notifications, order_reads
from production.addresses import ShippingAddressData, clean_address
from production.exceptions import (
    IdempotencyConflict,
    InvalidOrder,
    OrderError,
    PaymentMismatch,
)
from production.lifecycle import (
    STATUS_MAP,
    Delivery,
    EventSource,
    OrderFacts,
    OrderState,
    Priority,
    ProductionStatus,
    actor_role,
    change_sequence,
    payment_refusal,
)
from production.models import (
    FulfillmentEvent,
    Garment,
    LineItem,
    OrderDesign,
    OrderNote,
    ProductionOrder,
    ReferenceNumber,
    ShippingAddress,
    Technique,
    technique_bits,
)
from production.pricing import SizeQuantity, quote_order
from production.services.catalogue import PlacementDesign, resolve_order, with_catalogue
from production.services.changes import (
    Change,
    change_priority,
    change_production_status,
    change_state,
    clean_note,
    lock_order,
    locked_order,
    record_change,
    require_transaction,
    save_changes,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest

    User = AbstractBaseUser


logger = logging.getLogger(__name__)


# --- placing an order ---------------------------------------------------------------------------


class DraftOrder(TypedDict, total=False):
    """What a customer's order is placed with (`place_order`): `create_draft_order`'s arguments
    but its `source`, which is the customer's."""

    owner: Required[User]
    garment_gid: Required[str]
    garment: Garment | None
    design_url: Required[str]
    sizes: Required[Sequence[SizeQuantity]]
    priority: Priority
    notes: str
    prompt: str | None
    idempotency_key: str | None
    designs: Sequence[PlacementDesign]
    delivery: str | None
    shipping: Mapping[str, object] | ShippingAddressData | None


@dataclass(frozen=True)
class PlacedOrder:
    order: ProductionOrder
    checkout_url: str


def place_order(*, request: HttpRequest | None = None, **draft: Unpack[DraftOrder]) -> PlacedOrder:
    """A customer's order, as the API and the order form both place it: a priced draft, then its
    checkout. Payment submits the draft (the webhook); nothing else can.

    The checkout is started by `settings.ORDER_CHECKOUT` (the payments app's `start_checkout`):
    the order domain does not import the payments app, which builds on it. A provider failure
    raises CheckoutUnavailable and leaves the draft, which a retry with the same idempotency key
    reuses.
    """
    order = create_draft_order(source=EventSource.CUSTOMER, **draft)
    start_checkout = import_string(settings.ORDER_CHECKOUT)
    return PlacedOrder(order=order, checkout_url=start_checkout(order=order, request=request))


# --- creating a draft ----------------------------------------------------------------------------


def create_draft_order(
    *,
    owner: User,
    garment_gid: str,
    design_url: str,
    sizes: Sequence[SizeQuantity],
    garment: Garment | None = None,
    priority: Priority = Priority.STANDARD,
    notes: str = "",
    prompt: str | None = None,
    idempotency_key: str | None = None,
    source: EventSource = EventSource.CUSTOMER,
    designs: Sequence[PlacementDesign] = (),
    delivery: str | None = None,
    shipping: Mapping[str, object] | ShippingAddressData | None = None,
) -> ProductionOrder:
    """Create an unpaid draft with its line items and server-computed prices.

    Each line is a variant of the garment: its colour (`SizeQuantity.color`, the default colour
    when None) in its size, in stock. `design_url` is the front design; `designs` adds others at
    the garment's other placements, each priced per item. Anything the catalogue does not offer
    raises InvalidOrder naming the field, and nothing is written.

    `delivery` is shipping (needs `shipping`, the address: validated by `clean_address`, priced
    by `pricing.shipping_rate`), pickup (only when the shop has a PICKUP_ADDRESS) or, when neither
    is given, unknown; a `shipping` address alone means shipping.

    `garment`: the active garment `garment_gid` names, already read by the caller (the order
    form's, `with_catalogue`), so neither it nor its catalogue is read again.

    With an `idempotency_key`, a retry of the same request returns the order the first call made
    (a unique constraint decides races); the same key with a different request is refused.
    """
    chosen, address = clean_delivery(delivery, shipping)
    request = _DraftRequest(
        garment_gid,
        design_url,
        tuple(sizes),
        Priority(priority),
        notes,
        prompt,
        _design_keys((d.placement, d.url) for d in designs),
        chosen,
        address,
    )
    if idempotency_key:
        existing = _order_for_key(owner, idempotency_key)
        if existing is not None:
            return _same_request_or_conflict(existing, request)

    if garment is None or garment.shopify_gid != garment_gid or not garment.is_active:
        garments = Garment.objects.filter(shopify_gid=garment_gid, is_active=True)
        garment = with_catalogue(garments).first()
    if garment is None:
        raise InvalidOrder({"garmentId": [f"No active garment {garment_gid!r}."]})
    resolved = resolve_order(garment, request.sizes, design_url, designs)
    quote = quote_order(
        garment=garment,
        sizes=request.sizes,
        priority=request.priority,
        variants=resolved.variants,
        extra_placements=resolved.extra_placements,
        delivery=chosen,
        country_code=address.country_code if address else "",
    )

    items = [
        LineItem(
            color=variant.color,
            size=line.size,
            sku=variant.sku,
            quantity=line.quantity,
            technique=Technique.DTG,
            unit_amount=line.unit_amount,
        )
        for line, variant in zip(quote.lines, resolved.variants, strict=True)
    ]
    try:
        with transaction.atomic(durable=True):
            number = ReferenceNumber.objects.create()
            order = ProductionOrder.objects.create(
                reference=str(number),
                owner=owner,
                status=OrderState.DRAFT,
                production_status=STATUS_MAP[OrderState.DRAFT],
                priority=request.priority,
                design_url=design_url,
                prompt=prompt,
                notes=notes,
                garment=garment,
                subtotal_amount=quote.subtotal,
                rush_surcharge_amount=quote.rush_surcharge,
                shipping_amount=quote.shipping,
                total_amount=quote.total,
                currency=quote.currency,
                total_quantity=quote.total_quantity,
                delivery=chosen,
                idempotency_key=idempotency_key or None,
                technique_bits=technique_bits(item.technique for item in items),
            )
            for item in items:
                item.order = order
            LineItem.objects.bulk_create(items)
            OrderDesign.objects.bulk_create(
                OrderDesign(order=order, placement=placement, url=url)
                for placement, url in resolved.designs
            )
            if address is not None:
                ShippingAddress.objects.create(order=order, **address.as_model_fields())
            event = record_change(
                order,
                kind=FulfillmentEvent.Kind.CREATED,
                status=order.production_status,
                message="Order created, awaiting payment",
                actor=owner,
                source=source,
                change=("status", None, OrderState.DRAFT),
            )
            broadcasts.order_changed(order, [event])
    except IntegrityError:
        # Two requests with one key raced: the loser returns the winner's order.
        existing = _order_for_key(owner, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return _same_request_or_conflict(existing, request)
    return order


@dataclass(frozen=True)
class _DraftRequest:
    garment_gid: str
    design_url: str
    sizes: tuple  # of SizeQuantity; compared as (size, quantity, colour)
    priority: Priority
    notes: str
    prompt: str | None
    designs: tuple[tuple[str, str], ...]
    delivery: Delivery = Delivery.UNKNOWN
    address: ShippingAddressData | None = None


def clean_delivery(
    delivery: str | None, shipping: Mapping[str, object] | ShippingAddressData | None
) -> tuple[Delivery, ShippingAddressData | None]:
    """The delivery asked for and its address, checked (InvalidOrder / InvalidAddress naming the
    field): shipping needs an address, pickup needs the shop's PICKUP_ADDRESS and no address."""
    if delivery in (None, ""):
        chosen = Delivery.SHIPPING if shipping is not None else Delivery.UNKNOWN
    elif delivery in (Delivery.SHIPPING, Delivery.PICKUP):
        chosen = Delivery(delivery)
    else:
        raise InvalidOrder({"delivery": ["Choose shipping or pickup."]})
    if chosen == Delivery.PICKUP:
        if not settings.PICKUP_ADDRESS.strip():
            raise InvalidOrder({"delivery": ["This shop offers no pickup: choose shipping."]})
        if shipping is not None:
            raise InvalidOrder({"shipping": ["An order for pickup has no shipping address."]})
        return chosen, None
    if chosen == Delivery.SHIPPING:
        if shipping is None:
            raise InvalidOrder({"shipping": ["A shipping address is required for shipping."]})
        if isinstance(shipping, ShippingAddressData):
            shipping = shipping.as_api()
        return chosen, clean_address(shipping)
    return chosen, None


def order_address(order: ProductionOrder) -> ShippingAddressData | None:
    """The order's shipping address, if it has one."""
    try:
        return ShippingAddressData.of(order.shipping_address)
    except ShippingAddress.DoesNotExist:
        return None


def _design_keys(designs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The designs besides the front one, comparable between two requests."""
    keys = {(placement.strip().lower(), url) for placement, url in designs}
    return tuple(sorted(key for key in keys if key[0] != "front"))


def _order_for_key(owner: User, key: str) -> ProductionOrder | None:
    return (
        ProductionOrder.objects.select_related("garment")
        .select_related("shipping_address")
        .prefetch_related(
            Prefetch("line_items", queryset=LineItem.objects.select_related("color")),
            Prefetch("designs", queryset=OrderDesign.objects.select_related("placement")),
        )
        .filter(owner=owner, idempotency_key=key)
        .first()
    )


def _same_request_or_conflict(order: ProductionOrder, request: _DraftRequest) -> ProductionOrder:
    default = order.garment.colors.filter(is_default=True).values_list("name", flat=True).first()

    def color_key(color: str | None) -> str:
        return (color if color is not None else default or "").strip().lower()

    original = _DraftRequest(
        order.garment.shopify_gid,
        order.design_url,
        tuple((li.size, li.quantity, color_key(li.color.name)) for li in order.line_items.all()),
        Priority(order.priority) if order.status == OrderState.DRAFT else request.priority,
        order.notes,
        order.prompt,
        _design_keys((d.placement.code, d.url) for d in order.designs.all()),
        Delivery(order.delivery),
        order_address(order),
    )
    asked = replace(
        request,
        sizes=tuple((item.size, item.quantity, color_key(item.color)) for item in request.sizes),
    )
    if original != asked:
        raise IdempotencyConflict(
            "This Idempotency-Key was already used for a different order.", field="Idempotency-Key"
        )
    return order


def refresh_technique_bits(order_ids: Iterable[UUID]) -> None:
    """Set these orders' `technique_bits` from their line items again: for data repairs (the
    services never change line items after creating them; a fix made to them in SQL or a shell
    must be followed by this). Migration 0011 backfilled the orders made before the column."""
    ids = list(order_ids)
    if not ids:
        return
    with transaction.atomic():
        bits: dict[UUID, int] = dict.fromkeys(ids, 0)
        pairs = LineItem.objects.filter(order_id__in=ids).order_by()
        for order_id, technique in pairs.values_list("order_id", "technique").distinct():
            bits[order_id] |= technique_bits([technique])
        by_bits: dict[int, list[UUID]] = {}
        for order_id, value in bits.items():
            by_bits.setdefault(value, []).append(order_id)
        for value, group in by_bits.items():
            ProductionOrder.objects.filter(pk__in=group).update(technique_bits=value)
        for order_id in ids:
            order_reads.invalidate(order_id)


# --- changing an order ---------------------------------------------------------------------------


class OrderChanges(TypedDict, total=False):
    """What `update_order` may be asked besides the order, actor and source (its arguments are
    `update_order_reporting`'s)."""

    status: OrderState | None
    production_status: ProductionStatus | None
    priority: Priority | None
    note: str


def update_order(
    *,
    order: ProductionOrder | UUID,
    actor: User | None,
    source: EventSource,
    **changes: Unpack[OrderChanges],
) -> ProductionOrder:
    """Apply an operator's changes to one order, all or nothing (see `update_order_reporting`)."""
    return update_order_reporting(order=order, actor=actor, source=source, **changes)[0]


def update_order_reporting(
    *,
    order: ProductionOrder | UUID,
    actor: User | None,
    source: EventSource,
    status: OrderState | None = None,
    production_status: ProductionStatus | None = None,
    priority: Priority | None = None,
    note: str = "",
) -> tuple[ProductionOrder, bool]:
    """Apply an operator's changes to one order, all or nothing; return it and whether anything
    changed (decided under the row lock: of two simultaneous identical requests, one changes it).

    The changes apply in the rulebook's order (`lifecycle.change_sequence`: priority first; the
    production step before the state for an order already in production). Each real change
    writes one event; `note` becomes the message of the main one. A note with no change is kept
    as an internal operator note. Asking for the value an order already has is a no-op, so
    retries are safe. The customer and garment of a passed order, when already loaded, are not
    read again (bulk changes read them for all at once).
    """
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    note = clean_note(note)
    with transaction.atomic(durable=True):
        locked = lock_order(order_id)
        if isinstance(order, ProductionOrder):
            for relation in ("owner", "garment"):  # no service ever changes them
                if (field := ProductionOrder._meta.get_field(relation)).is_cached(order):
                    field.set_cached_value(locked, field.get_cached_value(order))
        asked = {"priority": priority, "status": status, "production_status": production_status}
        apply: dict[str, Callable[[], Change]] = {
            "priority": lambda: change_priority(locked, Priority(priority)),
            "status": lambda: change_state(
                locked, OrderState(status), source=source, reason=note, actor=actor
            ),
            "production_status": lambda: change_production_status(
                locked, production_status, source=source
            ),
        }
        changes: list[Change] = []
        # In the rulebook's order; asking for the value the order already has changes nothing.
        for name in change_sequence(OrderFacts.of(locked)):
            if asked[name] not in (None, getattr(locked, name)):
                changes.append(apply[name]())
        if not changes:
            if note:
                OrderNote.objects.create(order=locked, author=actor, body=note)
            return locked, False
        if note:
            changes[-1].message = note
        save_changes(locked, changes, actor=actor, source=source)
        if any(c.field == "status" and c.after == OrderState.FULFILLED for c in changes):
            notifications.order_fulfilled(order=locked)  # mail recorded and queued with the change
        if any(c.field == "status" and c.after == OrderState.CANCELED for c in changes):
            # Whatever was paid goes back: the payments app records the refund in this
            # transaction (and asks Stripe after commit). The domain does not import it.
            refunds = import_string(settings.ORDER_REFUND)(order=locked, actor=actor, source=source)
            # The customer hears why (the operator's reason, which the form says they read) and
            # what goes back, in the same transaction.
            notifications.order_canceled(
                order=locked,
                reason=note,
                refunded=sum(getattr(refund, "amount", 0) for refund in refunds or ()),
            )
    return locked, True


def transition_order(
    *,
    order: ProductionOrder | UUID,
    to: OrderState,
    actor: User | None,
    source: EventSource,
    note: str = "",
) -> ProductionOrder:
    """Move an order to another state (see `lifecycle.RULES`)."""
    return update_order(order=order, actor=actor, source=source, status=to, note=note)


def submit_paid_order(
    *,
    order: ProductionOrder | UUID,
    amount_total: int,
    currency: str,
    checkout_session_id: str | None = None,
    metadata: dict | None = None,
) -> tuple[ProductionOrder, bool]:
    """Submit a draft whose payment Stripe confirmed. Returns the order and whether it changed.

    Safe to call again for the same payment: an order that is no longer a draft is left alone. An
    amount or currency that is not the order's raises PaymentMismatch and changes nothing.
    """
    with transaction.atomic(durable=True):
        return submit_paid_order_in_transaction(
            order=order,
            amount_total=amount_total,
            currency=currency,
            checkout_session_id=checkout_session_id,
            metadata=metadata,
        )


def submit_paid_order_in_transaction(
    *,
    order: ProductionOrder | UUID,
    amount_total: int,
    currency: str,
    checkout_session_id: str | None = None,
    metadata: dict | None = None,
    already_locked: bool = False,
) -> tuple[ProductionOrder, bool]:
    """`submit_paid_order` for a caller that owns the transaction.

    The webhook records the Stripe event id in the same transaction as the order change, so a
    crash between the two can neither lose the payment nor process it twice. PaymentMismatch is
    raised before anything is written, so the caller may catch it and still commit.
    `already_locked`: the caller read `order` with select_for_update in this transaction.
    """
    locked = locked_order(order, already_locked)
    if payment_refusal(OrderFacts.of(locked)) is not None:
        if locked.status == OrderState.CANCELED:
            # The payments app refunds it (the caller decides; this domain only keeps it canceled).
            logger.warning("Payment confirmed for canceled order %s", locked.reference)
        return locked, False
    if amount_total != locked.total_amount or currency.lower() != locked.currency.lower():
        raise PaymentMismatch(
            f"Paid {amount_total} {currency.lower()} but {locked.reference} costs "
            f"{locked.total_amount} {locked.currency}.",
            field="payment",
        )
    change = change_state(locked, OrderState.SUBMITTED, source=EventSource.STRIPE)
    change.metadata = metadata or {}
    fields = ["submitted_at", "due_date"]
    if checkout_session_id and not locked.stripe_checkout_session_id:
        locked.stripe_checkout_session_id = checkout_session_id
        fields.append("stripe_checkout_session_id")
    save_changes(locked, [change], actor=None, source=EventSource.STRIPE, extra_fields=fields)
    notifications.order_receipt(order=locked)  # the receipt, queued with the payment
    return locked, True


def cancel_unpaid_order(
    *, order: ProductionOrder | UUID, reason: str
) -> tuple[ProductionOrder, bool]:
    """Cancel a draft whose checkout expired or whose payment failed; never touches a paid order."""
    with transaction.atomic(durable=True):
        return cancel_unpaid_order_in_transaction(order=order, reason=reason)


def cancel_unpaid_order_in_transaction(
    *, order: ProductionOrder | UUID, reason: str, already_locked: bool = False
) -> tuple[ProductionOrder, bool]:
    """`cancel_unpaid_order` for a caller that owns the transaction (the webhook's event log);
    `already_locked` as in `submit_paid_order_in_transaction`."""
    locked = locked_order(order, already_locked)
    if locked.status != OrderState.DRAFT:
        return locked, False
    change = change_state(locked, OrderState.CANCELED, source=EventSource.STRIPE)
    change.message = reason
    save_changes(locked, [change], actor=None, source=EventSource.STRIPE)
    return locked, True


def attach_checkout_session(
    *, order: ProductionOrder | UUID, session_id: str, checkout_url: str
) -> ProductionOrder:
    """Remember the Checkout Session of a draft (no event: nothing changed for the customer).
    Returns `order` with the session (an id: the order read)."""
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    fields = {"stripe_checkout_session_id": session_id, "checkout_url": checkout_url}
    with transaction.atomic(durable=True):
        fields["updated_at"] = timezone.now()
        # One statement: the session is written unless the order has another one already.
        attached = (
            ProductionOrder.objects.filter(pk=order_id)
            .filter(Q(stripe_checkout_session_id=None) | Q(stripe_checkout_session_id=session_id))
            .update(**fields)
        )
        if not attached:
            # The per-order idempotency key makes Stripe answer with the same session; a different
            # one means a second session for one order, which must not silently replace the first.
            reference = lock_order(order_id).reference  # DoesNotExist: no such order
            raise OrderError(f"{reference} already has a checkout session.", field="checkout")
        order_reads.invalidate(order_id)
    if not isinstance(order, ProductionOrder):
        return ProductionOrder.objects.get(pk=order_id)
    for name, value in fields.items():
        setattr(order, name, value)
    return order


def record_refund_event_in_transaction(
    *,
    order: ProductionOrder | UUID,
    status: str,
    message: str,
    actor: User | None,
    source: EventSource,
    metadata: dict | None = None,
) -> FulfillmentEvent:
    """A refund's step on the order's timeline (requested, sent), for the payments app, which
    owns refunds and calls this in its own transaction. The order row is locked (the payments
    app locks it first anyway); the order's fields do not change."""
    require_transaction()
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    locked = lock_order(order_id)
    change = Change(
        kind=FulfillmentEvent.Kind.REFUND,
        field="refund",
        before=None,
        after=None,
        status=status,
        message=message,
        metadata=metadata,
    )
    [event] = save_changes(locked, [change], actor=actor, source=source)
    return event


JOB_TICKET_PRINTED = "Job ticket printed"


def record_job_tickets_printed(
    *,
    order_ids: Sequence[UUID],
    actor: User | None,
    source: EventSource = EventSource.OPERATOR,
    batch: str | None = None,
) -> list[FulfillmentEvent]:
    """One "Job ticket printed" event on each order, written in one INSERT for the whole batch.

    Operator-only (`OPERATOR_ONLY_KINDS`): it changes nothing the customer sees, so no order row
    is locked or saved, no cached order JSON goes stale and nothing is announced. Printing the
    same ticket twice is two events: each print is a sheet on the floor."""
    now = timezone.now()
    metadata = {"source": str(source), "actor": actor_role(source), "field": "job_ticket"}
    if batch:
        metadata["batch"] = batch
    events = [
        FulfillmentEvent(
            order_id=order_id,
            kind=FulfillmentEvent.Kind.JOB_TICKET,
            status=JOB_TICKET_PRINTED,
            message=None,
            occurred_at=now,
            actor=actor,
            source=source,
            metadata=metadata,
        )
        for order_id in dict.fromkeys(order_ids)  # once per order, in the order given
    ]
    return FulfillmentEvent.objects.bulk_create(events)
