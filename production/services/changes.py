"""What every write of an order shares: the row lock, the guarded change, the save, and one
FulfillmentEvent per change, announced after commit.

Each public workflow in this package owns its transaction (durable: nothing may wrap it), locks the
order row before it reads what it changes, writes exactly one FulfillmentEvent per change in that
same transaction, and announces the change only after commit (`production.broadcasts`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from production import broadcasts, order_reads
from production.exceptions import (
    IllegalTransition,
    OrderError,
)
from production.lifecycle import (
    STATUS_MAP,
    STEP_MESSAGES,
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
    priority_refusal,
    step_refusal,
)
from production.models import (
    ArtworkProof,
    FulfillmentEvent,
    ProductionOrder,
)
from production.plumbing import metrics, request_context

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    User = AbstractBaseUser

logger = logging.getLogger(__name__)

MAX_NOTE_LENGTH = 2000


# --- internals -----------------------------------------------------------------------------------


@dataclass
class Change:
    kind: str
    field: str
    before: str | None
    after: str | None
    status: str
    message: str
    metadata: dict | None = None
    request_key: str | None = None  # the one-time token of the form that asked for it


def require_transaction() -> None:
    # Without an enclosing atomic block the row lock would be released before the write.
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Call this inside transaction.atomic(); the caller owns it.")


def locked_order(order: ProductionOrder | UUID, caller_locked: bool) -> ProductionOrder:
    """The order, row-locked in the caller's transaction (read again unless the caller did)."""
    require_transaction()
    if caller_locked and isinstance(order, ProductionOrder):
        return order
    return lock_order(order.pk if isinstance(order, ProductionOrder) else order)


def lock_order(order_id: UUID, *, with_owner: bool = False) -> ProductionOrder:
    """The order, its row locked until the caller's transaction ends. `with_owner`: its owner
    read in the same query (the lock still takes the order's row only)."""
    if with_owner:
        # `of`: lock the order row only, not the owner's (PostgreSQL locks every joined row
        # otherwise).
        orders = ProductionOrder.objects.select_related("owner").select_for_update(of=("self",))
        return orders.get(pk=order_id)
    return ProductionOrder.objects.select_for_update().get(pk=order_id)


def clean_note(text: str | None) -> str:
    text = (text or "").strip()
    if len(text) > MAX_NOTE_LENGTH:
        raise OrderError(f"At most {MAX_NOTE_LENGTH} characters.", field="notes")
    return text


def change_state(
    order: ProductionOrder,
    to: OrderState,
    *,
    source: EventSource,
    reason: str = "",
    actor: User | None = None,
    decider: Actor | None = None,
    proof: ArtworkProof | None = None,
) -> Change:
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
    return Change(
        kind=FulfillmentEvent.Kind.STATE,
        field="status",
        before=current,
        after=to,
        status="Canceled" if to == OrderState.CANCELED else order.production_status,
        message=message,
    )


def change_production_status(
    order: ProductionOrder, to: ProductionStatus, *, source: EventSource
) -> Change:
    current = ProductionStatus(order.production_status)
    to = ProductionStatus(to)
    refused = step_refusal(OrderFacts.of(order), to, actor=actor_of(source))
    if refused:
        raise IllegalTransition(f"{order.reference}: {refused}", field="productionStatus")
    order.production_status = to
    return Change(
        kind=FulfillmentEvent.Kind.PRODUCTION_STATUS,
        field="production_status",
        before=current,
        after=to,
        status=to,
        message=STEP_MESSAGES[to],
    )


def change_priority(order: ProductionOrder, to: Priority) -> Change:
    refused = priority_refusal(OrderFacts.of(order))
    if refused:
        raise IllegalTransition(f"{order.reference}: {refused}", field="priority")
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
    return Change(
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
    "shipping": ["delivery"],
}


def save_changes(
    order: ProductionOrder,
    changes: list[Change],
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
        record_change(
            order,
            kind=change.kind,
            status=change.status,
            message=change.message,
            actor=actor,
            source=source,
            change=(change.field, change.before, change.after),
            extra=change.metadata,
            request_key=change.request_key,
        )
        for change in changes
    ]
    broadcasts.order_changed(order, events)
    return events


def record_change(
    order: ProductionOrder,
    *,
    kind: str,
    status: str,
    message: str,
    actor: User | None,
    source: EventSource,
    change: tuple[str, str | None, str | None],
    extra: dict | None = None,
    request_key: str | None = None,
) -> FulfillmentEvent:
    field, before, after = change
    # The actor as a role: this metadata is customer-visible; the person is the `actor` column.
    metadata = {"source": str(source), "actor": actor_role(source), "field": field}
    if field not in ("message", "refund"):
        metadata |= {"from": before and str(before), "to": after and str(after)}
    if extra:
        metadata |= extra
    if request_id := request_context.current():  # for operators and support, never customers
        metadata["request_id"] = request_id
    if field == "status" and after:
        metrics.order_entered(after)  # a new draft, or a move: counted when the change commits
    return FulfillmentEvent.objects.create(
        order=order,
        kind=kind,
        status=str(status),
        message=message,
        occurred_at=timezone.now(),
        actor=actor,
        source=source,
        metadata=metadata,
        request_key=request_key,
    )
