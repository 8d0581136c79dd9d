"""Workflows of the order domain: the only code that writes orders.

Each public function owns its transaction (durable: nothing may wrap it), locks the order row before
it reads what it changes, writes exactly one FulfillmentEvent per change in that same transaction,
and announces the change only after commit (`production.broadcasts`).

The two payment workflows also come as `*_in_transaction` variants for the one caller that must
join them to its own write: the Stripe webhook, which logs the event id in the same transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID, uuid4

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
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
    due_date_for,
    move_refusal,
    move_to,
    proof_refusal,
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
)
from production.pricing import SizeQuantity, quote_order

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
            )
            LineItem.objects.bulk_create(
                LineItem(
                    order=order,
                    size=line.size,
                    quantity=line.quantity,
                    unit_amount=line.unit_amount,
                )
                for line in quote.lines
            )
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
    """Apply an operator's changes to one order, all or nothing.

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
            return locked
        if note:
            changes[-1].message = note
        _save_changes(locked, changes, actor=actor, source=source)
        if any(c.field == "status" and c.after == OrderState.FULFILLED for c in changes):
            notifications.order_fulfilled(order=locked)  # mail recorded and queued with the change
    return locked


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
) -> tuple[ProductionOrder, bool]:
    """`submit_paid_order` for a caller that owns the transaction.

    The webhook records the Stripe event id in the same transaction as the order change, so a
    crash between the two can neither lose the payment nor process it twice. PaymentMismatch is
    raised before anything is written, so the caller may catch it and still commit.
    """
    _require_transaction()
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    locked = _lock(order_id)
    if locked.status != OrderState.DRAFT:
        if locked.status == OrderState.CANCELED:
            logger.error("Payment confirmed for canceled order %s: refund needed", locked.reference)
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
    *, order: ProductionOrder | UUID, reason: str
) -> tuple[ProductionOrder, bool]:
    """`cancel_unpaid_order` for a caller that owns the transaction (the webhook's event log)."""
    _require_transaction()
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    locked = _lock(order_id)
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
        "status", "production_status", "priority", "waiting_proof_revision"
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
    if field != "message":
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
