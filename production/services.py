"""Workflows of the order domain: the only code that writes orders.

Each public function owns its transaction (durable: nothing may wrap it), locks the order row before
it reads what it changes, writes exactly one FulfillmentEvent per change in that same transaction,
and announces the change only after commit (`production.broadcasts`).

The two payment workflows also come as `*_in_transaction` variants for the one caller that must
join them to its own write: the Stripe webhook, which logs the event id in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING
from uuid import UUID, uuid4

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.module_loading import import_string

from production import broadcasts, notifications, order_reads
from production.exceptions import (
    IdempotencyConflict,
    IllegalTransition,
    InvalidOrder,
    OrderError,
    PaymentMismatch,
    ProofConflict,
)
from production.lifecycle import (
    STATUS_MAP,
    Actor,
    EventSource,
    OrderFacts,
    OrderState,
    Priority,
    ProductionStatus,
    actor_of,
    actor_role,
    correction_refusal,
    due_date_for,
    move_refusal,
    move_to,
    proof_refusal,
    ship_refusal,
    step_refusal,
)
from production.models import (
    ArtworkProof,
    FulfillmentEvent,
    Garment,
    LineItem,
    OrderNote,
    ProductionOrder,
    ReferenceNumber,
    Shipment,
    ShipmentItem,
    Technique,
    technique_bits,
)
from production.pricing import SizeQuantity, quote_order
from production.tracking import Carrier, Tracking, check_tracking

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.core.files.uploadedfile import UploadedFile
    from django.http import HttpRequest

    User = AbstractBaseUser

logger = logging.getLogger(__name__)

MAX_NOTE_LENGTH = 2000


# --- placing an order ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacedOrder:
    order: ProductionOrder
    checkout_url: str


def place_order(
    *,
    owner: User,
    garment_gid: str,
    design_url: str,
    sizes: Sequence[SizeQuantity],
    priority: Priority = Priority.STANDARD,
    notes: str = "",
    prompt: str | None = None,
    idempotency_key: str | None = None,
    request: HttpRequest | None = None,
) -> PlacedOrder:
    """A customer's order, as the API and the order form both place it: a priced draft, then its
    checkout. Payment submits the draft (the webhook); nothing else can.

    The checkout is started by `settings.ORDER_CHECKOUT` (the payments app's `start_checkout`):
    the order domain does not import the payments app, which builds on it. A provider failure
    raises CheckoutUnavailable and leaves the draft, which a retry with the same idempotency key
    reuses.
    """
    order = create_draft_order(
        owner=owner,
        garment_gid=garment_gid,
        design_url=design_url,
        sizes=sizes,
        priority=priority,
        notes=notes,
        prompt=prompt,
        idempotency_key=idempotency_key,
        source=EventSource.CUSTOMER,
    )
    start_checkout = import_string(settings.ORDER_CHECKOUT)
    return PlacedOrder(order=order, checkout_url=start_checkout(order=order, request=request))


# --- creating a draft ----------------------------------------------------------------------------


def create_draft_order(
    *,
    owner: User,
    garment_gid: str,
    design_url: str,
    sizes: Sequence[SizeQuantity],
    priority: Priority = Priority.STANDARD,
    notes: str = "",
    prompt: str | None = None,
    idempotency_key: str | None = None,
    source: EventSource = EventSource.CUSTOMER,
) -> ProductionOrder:
    """Create an unpaid draft with its line items and server-computed prices.

    With an `idempotency_key`, a retry of the same request returns the order the first call made
    (a unique constraint decides races); the same key with a different request is refused.
    """
    request = _DraftRequest(
        garment_gid, design_url, tuple(sizes), Priority(priority), notes, prompt
    )
    if idempotency_key:
        existing = _order_for_key(owner, idempotency_key)
        if existing is not None:
            return _same_request_or_conflict(existing, request)

    garment = Garment.objects.filter(shopify_gid=garment_gid, is_active=True).first()
    if garment is None:
        raise InvalidOrder({"garmentId": [f"No active garment {garment_gid!r}."]})
    _check_sizes(garment, request.sizes)
    quote = quote_order(garment=garment, sizes=request.sizes, priority=request.priority)

    items = [
        LineItem(
            size=line.size,
            quantity=line.quantity,
            technique=Technique.DTG,
            unit_amount=line.unit_amount,
        )
        for line in quote.lines
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
                total_amount=quote.total,
                currency=quote.currency,
                total_quantity=quote.total_quantity,
                idempotency_key=idempotency_key or None,
                technique_bits=technique_bits(item.technique for item in items),
            )
            for item in items:
                item.order = order
            LineItem.objects.bulk_create(items)
            event = _record(
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
    sizes: tuple[SizeQuantity, ...]
    priority: Priority
    notes: str
    prompt: str | None


def _order_for_key(owner: User, key: str) -> ProductionOrder | None:
    return (
        ProductionOrder.objects.select_related("garment")
        .prefetch_related("line_items")
        .filter(owner=owner, idempotency_key=key)
        .first()
    )


def _same_request_or_conflict(order: ProductionOrder, request: _DraftRequest) -> ProductionOrder:
    original = _DraftRequest(
        order.garment.shopify_gid,
        order.design_url,
        tuple(SizeQuantity(li.size, li.quantity) for li in order.line_items.all()),
        Priority(order.priority) if order.status == OrderState.DRAFT else request.priority,
        order.notes,
        order.prompt,
    )
    if original != request:
        raise IdempotencyConflict(
            "This Idempotency-Key was already used for a different order.", field="Idempotency-Key"
        )
    return order


def _check_sizes(garment: Garment, sizes: Sequence[SizeQuantity]) -> None:
    errors: list[str] = []
    seen: set[str] = set()
    for item in sizes:
        if item.size in seen:
            errors.append(f"Size {item.size!r} appears more than once.")
        seen.add(item.size)
        if item.size not in garment.sizes:
            offered = ", ".join(garment.sizes)
            errors.append(
                f"Size {item.size!r} is not offered for {garment.name} (offered: {offered})."
            )
    if not sizes:
        errors.append("At least one size is required.")
    if errors:
        raise InvalidOrder({"sizes": errors})


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


def update_order(
    *,
    order: ProductionOrder | UUID,
    actor: User | None,
    source: EventSource,
    status: OrderState | None = None,
    production_status: ProductionStatus | None = None,
    priority: Priority | None = None,
    note: str = "",
) -> ProductionOrder:
    """Apply an operator's changes to one order, all or nothing (see `update_order_reporting`)."""
    return update_order_reporting(
        order=order,
        actor=actor,
        source=source,
        status=status,
        production_status=production_status,
        priority=priority,
        note=note,
    )[0]


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

    Priority is applied first (releasing a hold and starting production is one request), then the
    state, then the production status. Each real change writes one event; `note` becomes the message
    of the main one. A note with no change is kept as an internal operator note. Asking for the
    value an order already has is a no-op, so retries are safe. The customer and garment of a
    passed order, when already loaded, are not read again (bulk changes read them for all at once).
    """
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    note = _clean_note(note)
    with transaction.atomic(durable=True):
        locked = _lock(order_id)
        if isinstance(order, ProductionOrder):
            for relation in ("owner", "garment"):  # no service ever changes them
                if (field := ProductionOrder._meta.get_field(relation)).is_cached(order):
                    field.set_cached_value(locked, field.get_cached_value(order))
        changes: list[_Change] = []
        if priority is not None and priority != locked.priority:
            changes.append(_change_priority(locked, Priority(priority)))
        # A production step comes before the state when the order is already in production (take
        # it to Ready and fulfil it in one request); otherwise after (start it and move on).
        step_first = locked.status == OrderState.IN_PRODUCTION
        if step_first and production_status not in (None, locked.production_status):
            changes.append(_change_production_status(locked, production_status, source=source))
        if status is not None and status != locked.status:
            changes.append(
                _change_state(locked, OrderState(status), source=source, reason=note, actor=actor)
            )
        if not step_first and production_status not in (None, locked.production_status):
            changes.append(_change_production_status(locked, production_status, source=source))
        if not changes:
            if note:
                OrderNote.objects.create(order=locked, author=actor, body=note)
            return locked, False
        if note:
            changes[-1].message = note
        _save_changes(locked, changes, actor=actor, source=source)
        if any(c.field == "status" and c.after == OrderState.FULFILLED for c in changes):
            notifications.order_fulfilled(order=locked)  # mail recorded and queued with the change
        if any(c.field == "status" and c.after == OrderState.CANCELED for c in changes):
            # Whatever was paid goes back: the payments app records the refund in this
            # transaction (and asks Stripe after commit). The domain does not import it.
            import_string(settings.ORDER_REFUND)(order=locked, actor=actor, source=source)
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
    locked = _locked(order, already_locked)
    if locked.status != OrderState.DRAFT:
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
    change = _change_state(locked, OrderState.SUBMITTED, source=EventSource.STRIPE)
    change.metadata = metadata or {}
    fields = ["submitted_at", "due_date"]
    if checkout_session_id and not locked.stripe_checkout_session_id:
        locked.stripe_checkout_session_id = checkout_session_id
        fields.append("stripe_checkout_session_id")
    _save_changes(locked, [change], actor=None, source=EventSource.STRIPE, extra_fields=fields)
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
    locked = _locked(order, already_locked)
    if locked.status != OrderState.DRAFT:
        return locked, False
    change = _change_state(locked, OrderState.CANCELED, source=EventSource.STRIPE)
    change.message = reason
    _save_changes(locked, [change], actor=None, source=EventSource.STRIPE)
    return locked, True


def attach_checkout_session(
    *, order: ProductionOrder | UUID, session_id: str, checkout_url: str
) -> ProductionOrder:
    """Remember the Checkout Session of a draft (no event: nothing changed for the customer)."""
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    with transaction.atomic(durable=True):
        locked = _lock(order_id)
        if locked.stripe_checkout_session_id not in (None, session_id):
            # The per-order idempotency key makes Stripe answer with the same session; a different
            # one means a second session for one order, which must not silently replace the first.
            raise OrderError(
                f"{locked.reference} already has a checkout session.", field="checkout"
            )
        locked.stripe_checkout_session_id = session_id
        locked.checkout_url = checkout_url
        locked.save(update_fields=["stripe_checkout_session_id", "checkout_url", "updated_at"])
        order_reads.invalidate(locked.pk)
    return locked


def add_customer_message(
    *, order: ProductionOrder | UUID, author: User | None, body: str, source: EventSource
) -> FulfillmentEvent:
    """Post a message on the customer's timeline (an event like any other change)."""
    body = _clean_note(body)
    if not body:
        raise OrderError("A message cannot be empty.", field="message")
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    with transaction.atomic(durable=True):
        locked = _lock(order_id)
        change = _Change(
            kind=FulfillmentEvent.Kind.MESSAGE,
            field="message",
            before=None,
            after=None,
            status=locked.production_status,
            message=body,
        )
        [event] = _save_changes(locked, [change], actor=author, source=source)
        notifications.customer_message(event=event)  # mail recorded and queued with the change
    return event


def add_order_note(*, order: ProductionOrder | UUID, author: User | None, body: str) -> OrderNote:
    """Add an internal operator note (never shown to the customer)."""
    body = _clean_note(body)
    if not body:
        raise OrderError("A note cannot be empty.", field="note")
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    return OrderNote.objects.create(order_id=order_id, author=author, body=body)


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
    _require_transaction()
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    locked = _lock(order_id)
    change = _Change(
        kind=FulfillmentEvent.Kind.REFUND,
        field="refund",
        before=None,
        after=None,
        status=status,
        message=message,
        metadata=metadata,
    )
    [event] = _save_changes(locked, [change], actor=actor, source=source)
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


# --- artwork proofs ------------------------------------------------------------------------------


class ProofDecision:
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    CHOICES = (APPROVE, REQUEST_CHANGES)


def send_proof(
    *, order: ProductionOrder | UUID, file: UploadedFile | None, notes: str, actor: User | None
) -> ArtworkProof:
    """An operator sends the next revision of the artwork proof for the customer's approval.

    The file is checked and re-encoded (`production.proofs`) and stored before the transaction (a
    storage backend may be a network away); a revision still waiting is superseded by this one.
    One event ("Proof N sent for your approval") and one e-mail to the customer.
    """
    from production import proofs  # Pillow and the storage only where proofs are handled

    order_id = order.pk if isinstance(order, ProductionOrder) else order
    notes = _clean_note(notes)
    facts_now = ProductionOrder.objects.only(
        "status", "production_status", "priority", "waiting_proof_revision", "shipped_quantity"
    ).get(pk=order_id)
    _refuse_proof(facts_now)  # before the file work; checked again under the lock
    checked = proofs.check_proof_file(file)
    stored_name = default_storage.save(
        f"proofs/{order_id}/{uuid4().hex}.{checked.extension}", checked.content
    )
    try:
        with transaction.atomic(durable=True):
            locked = _lock(order_id)
            _refuse_proof(locked)
            superseded = locked.waiting_proof_revision
            if superseded is not None:
                ArtworkProof.objects.filter(order=locked, revision=superseded).update(
                    state=ArtworkProof.State.SUPERSEDED
                )
            last = locked.proofs.order_by("-revision").values_list("revision", flat=True).first()
            proof = ArtworkProof.objects.create(
                order=locked,
                revision=(last or 0) + 1,
                file=stored_name,
                kind=checked.kind,
                content_type=checked.content_type,
                size=checked.content.size,
                notes=notes,
                sent_by=actor,
            )
            locked.waiting_proof_revision = proof.revision
            change = _Change(
                kind=FulfillmentEvent.Kind.PROOF,
                field="proof",
                before=superseded and str(superseded),
                after=str(proof.revision),
                status=locked.production_status,
                message=f"Proof {proof.revision} sent for your approval",
                metadata={"revision": proof.revision, "proof": ArtworkProof.State.WAITING},
            )
            _save_changes(locked, [change], actor=actor, source=EventSource.OPERATOR)
            notifications.proof_sent(order=locked, proof=proof)  # with the change, once
    except BaseException:
        default_storage.delete(stored_name)  # nothing refers to it
        raise
    return proof


def _refuse_proof(order: ProductionOrder) -> None:
    refused = proof_refusal(OrderFacts.of(order), actor=Actor.OPERATOR)
    if refused:
        raise IllegalTransition(f"{order.reference}: {refused}", field="proof")


def decide_proof(
    *,
    order: ProductionOrder | UUID,
    revision: int,
    decision: str,
    comment: str = "",
    actor: User | None,
    source: EventSource = EventSource.CUSTOMER,
    via: str = ArtworkProof.Via.CUSTOMER,
) -> ArtworkProof:
    """The customer's answer to proof `revision`: approve it (the order moves to approved) or
    request changes with a comment (the order stays submitted; the operator sends a new revision).

    `source` is who recorded it: the customer on the site, or an operator (`via` phone) taking
    the customer's answer by phone; the rulebook checks it as the customer's decision. A revision
    that is not the one waiting (superseded, already answered, unknown) raises ProofConflict:
    of two answers sent at once, the row lock lets the first win and the second gets that.
    """
    if decision not in ProofDecision.CHOICES:
        raise OrderError("Decide with approve or request_changes.", field="decision")
    comment = _clean_note(comment)
    if decision == ProofDecision.REQUEST_CHANGES and not comment:
        raise OrderError("Say what should change: a comment is needed.", field="comment")
    via = ArtworkProof.Via(via)
    if (via == ArtworkProof.Via.PHONE) != (source != EventSource.CUSTOMER):
        raise OrderError("Only an operator records a decision given by phone.", field="via")
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    with transaction.atomic(durable=True):
        locked = _lock(order_id)
        if locked.waiting_proof_revision != revision:
            waiting = locked.waiting_proof_revision
            raise ProofConflict(
                f"Proof {revision} is not waiting for an answer"
                + (f": proof {waiting} is." if waiting else ".")
                + " Reload the order to see its latest proof.",
                field="revision",
            )
        proof = locked.proofs.get(revision=revision)
        proof.decided_by = actor
        proof.decided_at = timezone.now()
        proof.decided_via = via
        proof.comment = comment
        extra = {"revision": revision, "via": str(via), "decision": decision}
        if decision == ProofDecision.APPROVE:
            change = _change_state(
                locked,
                OrderState.APPROVED,
                source=source,
                actor=actor,
                decider=Actor.CUSTOMER,
                proof=proof,
            )
        else:
            proof.state = ArtworkProof.State.CHANGES_REQUESTED
            proof.save(
                update_fields=["state", "decided_by", "decided_at", "decided_via", "comment"]
            )
            locked.waiting_proof_revision = None
            change = _Change(
                kind=FulfillmentEvent.Kind.PROOF,
                field="proof",
                before=str(revision),
                after=None,
                status=locked.production_status,
                message=f"Changes requested to proof {revision}: {comment}",
            )
        if comment and decision == ProofDecision.APPROVE:
            change.message = f"{change.message}: {comment}"
        if via == ArtworkProof.Via.PHONE:
            change.message = f"{change.message} (by phone)"
        change.metadata = {**(change.metadata or {}), **extra, "proof": proof.state}
        _save_changes(locked, [change], actor=actor, source=source)
    return proof


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

    Only from production status Ready (the rulebook's `ship_refusal`, its reason verbatim). More
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
        locked = _lock(order_id)
        _refuse_shipping(locked, source)
        _check_not_before_payment(locked, shipped_on)
        lines = _lines_to_ship(locked, asked)
        duplicate = Shipment.objects.filter(
            order=locked,
            kind=Shipment.Kind.SHIPMENT,
            carrier=tracking.carrier,
            tracking_number=tracking.number,
        )
        if duplicate.exists():
            raise OrderError(
                f"{_tracking_words(tracking)} is already recorded on {locked.reference}.",
                field="trackingNumber",
            )
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
        change = _Change(
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
        _save_changes(locked, [change, *fulfil], actor=actor, source=source)
        notifications.shipment_sent(
            order=locked, shipment=shipment, items=_mail_items(lines), complete=bool(fulfil)
        )
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
        locked = _lock(order_id)
        _refuse_shipping(locked, source)
        if locked.pickup_ready_at is not None:
            told = timezone.localtime(locked.pickup_ready_at).strftime("%Y-%m-%d %H:%M")
            raise OrderError(
                f"{locked.reference}: the customer was already told it is ready for pickup "
                f"({told}).",
                field="pickup",
            )
        locked.pickup_ready_at = timezone.now()
        hours = settings.PICKUP_HOURS.strip()
        change = _Change(
            kind=FulfillmentEvent.Kind.PICKUP,
            field="shipment",
            before=None,
            after="ready for pickup",
            status="Ready for pickup",
            message=f"Ready for pickup at {address}" + (f" ({hours})" if hours else ""),
            metadata={"pickup": "ready", "address": address, "hours": hours},
        )
        [event] = _save_changes(locked, [change], actor=actor, source=source)
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
        locked = _lock(order_id)
        _refuse_shipping(locked, source)
        _check_not_before_payment(locked, picked_up_on)
        lines = _lines_to_ship(locked, None)
        shipment = _write_shipment(
            locked, lines, kind=Shipment.Kind.PICKUP, shipped_on=picked_up_on, actor=actor
        )
        count = sum(quantity for _, quantity in lines)
        change = _Change(
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
        _save_changes(locked, [change, *fulfil], actor=actor, source=source)
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
    note = _clean_note(note)
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    with transaction.atomic(durable=True):
        locked = _lock(order_id)
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
        clash = locked.shipments.filter(
            kind=Shipment.Kind.SHIPMENT,
            carrier=tracking.carrier,
            tracking_number=tracking.number,
        ).exclude(pk=shipment.pk)
        if clash.exists():
            raise OrderError(
                f"{_tracking_words(tracking)} is already recorded on {locked.reference}.",
                field="trackingNumber",
            )
        shipment.carrier, shipment.tracking_number, shipment.tracking_url = (
            tracking.carrier,
            tracking.number,
            tracking.url,
        )
        shipment.save(update_fields=["carrier", "tracking_number", "tracking_url", "updated_at"])
        message = f"Tracking corrected: {_tracking_words(previous)} → {_tracking_words(tracking)}"
        change = _Change(
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
        _save_changes(locked, [change], actor=actor, source=source)
        notifications.shipment_corrected(order=locked, shipment=shipment)
    return shipment


def _refuse_shipping(order: ProductionOrder, source: EventSource) -> None:
    refused = ship_refusal(OrderFacts.of(order), actor=actor_of(source))
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
) -> list[_Change]:
    """The fulfil move, through the rulebook like every state change, once nothing is left."""
    if order.shipped_quantity < order.total_quantity:
        return []
    change = _change_state(order, OrderState.FULFILLED, source=source, actor=actor)
    change.message = message
    return [change]


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


# --- internals -----------------------------------------------------------------------------------


@dataclass
class _Change:
    kind: str
    field: str
    before: str | None
    after: str | None
    status: str
    message: str
    metadata: dict | None = None


def _require_transaction() -> None:
    # Without an enclosing atomic block the row lock would be released before the write.
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Call this inside transaction.atomic(); the caller owns it.")


def _locked(order: ProductionOrder | UUID, caller_locked: bool) -> ProductionOrder:
    """The order, row-locked in the caller's transaction (read again unless the caller did)."""
    _require_transaction()
    if caller_locked and isinstance(order, ProductionOrder):
        return order
    return _lock(order.pk if isinstance(order, ProductionOrder) else order)


def _lock(order_id: UUID) -> ProductionOrder:
    return ProductionOrder.objects.select_for_update().get(pk=order_id)


def _clean_note(text: str | None) -> str:
    text = (text or "").strip()
    if len(text) > MAX_NOTE_LENGTH:
        raise OrderError(f"At most {MAX_NOTE_LENGTH} characters.", field="notes")
    return text


def _change_state(
    order: ProductionOrder,
    to: OrderState,
    *,
    source: EventSource,
    reason: str = "",
    actor: User | None = None,
    decider: Actor | None = None,
    proof: ArtworkProof | None = None,
) -> _Change:
    """`decider`: whose decision the rulebook checks when it is not the recorder's own (an
    operator recording the customer's answer to a proof)."""
    current = OrderState(order.status)
    facts = OrderFacts.of(order)
    decider = decider or actor_of(source)
    refused = move_refusal(facts, to, actor=decider, reason=reason)
    if refused:
        raise IllegalTransition(f"{order.reference}: {refused}", field="status")
    message = move_to(current, to, decider).message
    if facts.proof_waiting is not None:
        # Leaving `submitted` settles the proof that waits: approved by the customer's move,
        # withdrawn when the order is canceled.
        proof = proof or order.proofs.get(revision=facts.proof_waiting)
        if to == OrderState.APPROVED:
            proof.state = ArtworkProof.State.APPROVED
            message = f"Proof {proof.revision} approved"
            if proof.decided_at is None:
                proof.decided_by, proof.decided_at = actor, timezone.now()
                proof.decided_via = ArtworkProof.Via.CUSTOMER
        else:
            proof.state = ArtworkProof.State.WITHDRAWN
        proof.save(update_fields=["state", "decided_by", "decided_at", "decided_via", "comment"])
        order.waiting_proof_revision = None
    order.status = to
    if to in STATUS_MAP:
        order.production_status = STATUS_MAP[to]
    if to == OrderState.SUBMITTED:
        order.submitted_at = timezone.now()
        order.due_date = due_date_for(
            submitted_on=timezone.localdate(order.submitted_at), priority=Priority(order.priority)
        )
    return _Change(
        kind=FulfillmentEvent.Kind.STATE,
        field="status",
        before=current,
        after=to,
        status="Canceled" if to == OrderState.CANCELED else order.production_status,
        message=message,
    )


def _change_production_status(
    order: ProductionOrder, to: ProductionStatus, *, source: EventSource
) -> _Change:
    current = ProductionStatus(order.production_status)
    to = ProductionStatus(to)
    refused = step_refusal(OrderFacts.of(order), to, actor=actor_of(source))
    if refused:
        raise IllegalTransition(f"{order.reference}: {refused}", field="productionStatus")
    order.production_status = to
    return _Change(
        kind=FulfillmentEvent.Kind.PRODUCTION_STATUS,
        field="production_status",
        before=current,
        after=to,
        status=to,
        message=f"{current} finished, now {to}",
    )


def _change_priority(order: ProductionOrder, to: Priority) -> _Change:
    if order.is_final:
        raise IllegalTransition(
            f"{order.reference}: priority cannot change once the order is {order.status}",
            field="priority",
        )
    current = Priority(order.priority)
    order.priority = to
    if order.submitted_at is not None:
        order.due_date = due_date_for(
            submitted_on=timezone.localdate(order.submitted_at), priority=to
        )
    if to == Priority.HOLD:
        message = "Order paused (on hold)"
    elif current == Priority.HOLD:
        message = f"Hold released, priority {to.label}"
    else:
        message = f"Priority changed to {to.label}"
    return _Change(
        kind=FulfillmentEvent.Kind.PRIORITY,
        field="priority",
        before=current,
        after=to,
        status=order.production_status,
        message=message,
    )


_FIELDS_BY_CHANGE = {
    "status": ["status", "production_status", "waiting_proof_revision"],
    "proof": ["waiting_proof_revision"],
    "production_status": ["production_status"],
    "priority": ["priority", "due_date"],
    "message": [],
    "shipment": ["shipped_quantity", "pickup_ready_at"],
    "refund": [],
}


def _save_changes(
    order: ProductionOrder,
    changes: list[_Change],
    *,
    actor: User | None,
    source: EventSource,
    extra_fields: Sequence[str] = (),
) -> list[FulfillmentEvent]:
    fields = {"updated_at", *extra_fields}
    for change in changes:
        fields.update(_FIELDS_BY_CHANGE[change.field])
    order.save(update_fields=sorted(fields))
    order_reads.invalidate(order.pk)
    events = [
        _record(
            order,
            kind=change.kind,
            status=change.status,
            message=change.message,
            actor=actor,
            source=source,
            change=(change.field, change.before, change.after),
            extra=change.metadata,
        )
        for change in changes
    ]
    broadcasts.order_changed(order, events)
    return events


def _record(
    order: ProductionOrder,
    *,
    kind: str,
    status: str,
    message: str,
    actor: User | None,
    source: EventSource,
    change: tuple[str, str | None, str | None],
    extra: dict | None = None,
) -> FulfillmentEvent:
    field, before, after = change
    # The actor as a role: this metadata is customer-visible; the person is the `actor` column.
    metadata = {"source": str(source), "actor": actor_role(source), "field": field}
    if field not in ("message", "refund"):
        metadata |= {"from": before and str(before), "to": after and str(after)}
    if extra:
        metadata |= extra
    return FulfillmentEvent.objects.create(
        order=order,
        kind=kind,
        status=str(status),
        message=message,
        occurred_at=timezone.now(),
        actor=actor,
        source=source,
        metadata=metadata,
    )
