"""Refunds: what was paid, what goes back, and Stripe's word on it.

A refund is asked for in a transaction that locks the order row (an operator's cancel through
`settings.ORDER_REFUND`, a payment that landed after the order was canceled, an operator's partial
refund): the `Refund` row is written pending, its timeline event beside it, and the `submit_refund`
task is queued in the same transaction (django-tasks-db: a row of the same database). After commit
a worker asks Stripe, with the refund's idempotency key, so a retried task gets the refund the first
call made instead of a second one. Stripe's answer, its refund webhooks and `reconcile_payments`
then move the state, only ever forward (`RANK`).

Every write here locks the order row first, so two requests for one order's money serialize, and
"never more than was paid" is checked under that lock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django_tasks import task

from payments.gateway import GatewayError, GatewayUnavailable, get_gateway
from payments.models import Payment, Refund
from production import broadcasts, notifications
from production.exceptions import OrderError
from production.lifecycle import EventSource
from production.models import ProductionOrder
from production.pricing import format_money
from production.services.changes import lock_order, require_transaction
from production.services.orders import record_refund_event_in_transaction

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    User = AbstractBaseUser

logger = logging.getLogger(__name__)

State = Refund.State
Reason = Refund.Reason

# A refund's state only moves up this ladder. Stripe documents that a succeeded refund can still
# fail later (the card was closed, the bank sent it back), so failed outranks succeeded; nothing
# leaves failed or canceled.
RANK: dict[str, int] = {State.PENDING: 0, State.SUCCEEDED: 1, State.FAILED: 2, State.CANCELED: 2}
# Stripe's refund `status` words.
STRIPE_STATES: dict[str, str] = {
    "pending": State.PENDING,
    "requires_action": State.PENDING,
    "succeeded": State.SUCCEEDED,
    "failed": State.FAILED,
    "canceled": State.CANCELED,
}
# Refunds that count against what was paid (a failed or canceled one gave nothing back).
COUNTED = (State.PENDING, State.SUCCEEDED)

# Stripe unreachable: tried again after 1, 2, 4, 8, 16 minutes, then marked failed.
MAX_ATTEMPTS = 6
RETRY_DELAY = timedelta(minutes=1)


class RefundRefused(OrderError):
    """A refund that cannot be made: more than is left to refund, nothing paid, a bad amount."""


# --- what was paid -------------------------------------------------------------------------------


def record_payment_in_transaction(
    *,
    order: ProductionOrder,
    session: Mapping[str, Any],
    event_id: str,
    submitted_now: bool = False,
) -> Payment | None:
    """Keep what Stripe took for a paid Checkout Session (once per session, whatever the events).

    Called by the webhook under the order's row lock. None when the session carries no usable
    amount (the caller has refused the payment already). `submitted_now`: this event just took the
    order out of draft, so no payment of its session can be on record yet (one query fewer on
    the webhook's busiest path)."""
    amount, currency, session_id = (
        session.get("amount_total"),
        session.get("currency"),
        session.get("id"),
    )
    if (
        not isinstance(amount, int)
        or isinstance(amount, bool)
        or not isinstance(currency, str)
        or not isinstance(session_id, str)
        or not session_id
    ):
        return None
    intent = session.get("payment_intent") or None
    payment = (
        None if submitted_now else Payment.objects.filter(checkout_session_id=session_id).first()
    )
    if payment is not None:
        if payment.order_id != order.pk:
            logger.error("Session %s paid for %s is another order's", session_id, order.reference)
            return None
        return payment
    if intent and Payment.objects.filter(payment_intent_id=intent).exists():
        # Not something Stripe does; kept without it rather than failing the webhook forever.
        logger.error("Payment intent %s of %s is on record already", intent, order.reference)
        intent = None
    return Payment.objects.create(
        order=order,
        checkout_session_id=session_id,
        payment_intent_id=intent,
        amount=amount,
        currency=currency.lower(),
        stripe_event_id=event_id,
        livemode=bool(session.get("livemode")),
    )


def refundable(payment: Payment) -> int:
    """What may still go back on this payment: paid, less every refund not failed or canceled."""
    taken = payment.refunds.filter(state__in=COUNTED).aggregate(total=Sum("amount"))["total"]
    return payment.amount - (taken or 0)


# --- asking for a refund -------------------------------------------------------------------------


def refund_canceled_order(
    *, order: ProductionOrder, actor: User | None, source: EventSource
) -> list[Refund]:
    """`settings.ORDER_REFUND`: an order was canceled, so whatever is left of its payments goes
    back. Runs in the cancel's transaction (the order row is locked); an order never paid (a
    draft) has no payment, and nothing happens."""
    return refund_remaining_in_transaction(
        order=order, reason=Reason.ORDER_CANCELED, actor=actor, source=source
    )


def refund_remaining_in_transaction(
    *, order: ProductionOrder, reason: str, actor: User | None, source: EventSource
) -> list[Refund]:
    """A full refund of what is left on each of the order's payments, in the caller's
    transaction."""
    require_transaction()
    locked = lock_order(order.pk, with_owner=True)
    refunds = []
    for payment in Payment.objects.filter(order=locked):
        remaining = refundable(payment)
        if remaining > 0:
            refunds.append(
                _create(locked, payment, remaining, reason=reason, actor=actor, source=source)
            )
    if not refunds and locked.submitted_at and not Payment.objects.filter(order=locked).exists():
        # Paid before payments were recorded and not found by the backfill: a person refunds it.
        logger.error(
            "%s canceled after payment, but no Stripe payment is on record: refund it by hand",
            locked.reference,
        )
    return refunds


def request_refund(
    *,
    order: ProductionOrder | UUID,
    amount: int,
    actor: User | None,
    note: str = "",
    request_key: str = "",
    source: EventSource = EventSource.OPERATOR,
) -> Refund:
    """An operator's refund of `amount` (minor units), full or partial, on a paid order in any
    state. Never more than is left: paid, less the refunds not failed or canceled, checked under
    the order's row lock, so two requests at once cannot both take the last of it.

    `request_key` (the form's one-time token) makes a double submit one refund: the same key on
    the same order for the same amount answers the refund it made; on another order or for
    another amount it is refused (RefundRefused) and nothing is written."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise RefundRefused("A refund needs an amount above zero.", field="amount")
    note = (note or "").strip()[:2000]
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    key = f"refund-request-{request_key}" if request_key else ""
    try:
        return _request_refund(order_id, amount, actor=actor, note=note, key=key, source=source)
    except IntegrityError:
        # The same key committed by a request that raced this one (on any order): its refund
        # answers, or the mismatch is refused, as if it had been found first.
        existing = Refund.objects.filter(idempotency_key=key).first() if key else None
        if existing is None:
            raise
        return _same_request(existing, order_id, amount)


def _same_request(existing: Refund, order_id: UUID, amount: int) -> Refund:
    """A refund form's key seen again: the same order and amount is the same request (its refund
    answers); anything else is a form used twice for different refunds, refused."""
    if existing.order_id == order_id and existing.amount == amount:
        return existing
    raise RefundRefused(
        "This refund form was used already for "
        f"{format_money(existing.amount, existing.currency)}"
        f"{'' if existing.order_id == order_id else ' on another order'}: nothing was refunded "
        "now. Reload the order's page to make another refund.",
        field="amount",
    )


def _request_refund(
    order_id: UUID, amount: int, *, actor: User | None, note: str, key: str, source: EventSource
) -> Refund:
    with transaction.atomic(durable=True):
        locked = lock_order(order_id, with_owner=True)
        if key and (existing := Refund.objects.filter(idempotency_key=key).first()):
            return _same_request(existing, locked.pk, amount)  # the same form posted again
        payments = list(Payment.objects.filter(order=locked))
        if not payments:
            raise RefundRefused(
                f"{locked.reference}: no Stripe payment is on record, nothing to refund here.",
                field="amount",
            )
        left = {payment: refundable(payment) for payment in payments}
        total_left = sum(left.values())
        money = payments[0].currency
        if amount > total_left:
            paid = sum(p.amount for p in payments)
            raise RefundRefused(
                f"{locked.reference}: at most {format_money(total_left, money)} can still be "
                f"refunded ({format_money(paid, money)} paid, "
                f"{format_money(paid - total_left, money)} refunded or on its way).",
                field="amount",
            )
        payment = next((p for p, rest in left.items() if rest >= amount), None)
        if payment is None:
            raise RefundRefused(
                f"{locked.reference}: the order was paid in several payments; refund at most "
                f"{format_money(max(left.values()), money)} at a time.",
                field="amount",
            )
        return _create(
            locked,
            payment,
            amount,
            reason=Reason.OPERATOR,
            actor=actor,
            source=source,
            note=note,
            key=key,
        )


def _create(
    order: ProductionOrder,
    payment: Payment,
    amount: int,
    *,
    reason: str,
    actor: User | None,
    source: EventSource,
    note: str = "",
    key: str = "",
) -> Refund:
    refund = Refund(
        order=order,
        payment=payment,
        amount=amount,
        currency=payment.currency,
        reason=reason,
        note=note,
        requested_by=actor if getattr(actor, "pk", None) else None,
    )
    refund.idempotency_key = key or f"refund-{refund.pk}"
    money = format_money(amount, payment.currency)
    if not payment.payment_intent_id:
        # Stripe has nothing to refund against: shown as failed, for a person to handle.
        refund.state = State.FAILED
        refund.failure_reason = "Stripe sent no payment intent for this payment: refund by hand."
        refund.settled_at = timezone.now()
        refund.save()
        logger.error(
            "Refund of %s for %s failed: %s", money, order.reference, refund.failure_reason
        )
        notifications.refund_failed(order=order, amount=money, reason=refund.failure_reason)
        return refund
    refund.save()
    record_refund_event_in_transaction(
        order=order,
        status="Refund requested",
        message=f"Refund of {money} requested",
        actor=refund.requested_by,
        source=source,
        metadata=_event_metadata(refund),
    )
    # Queued with the row: a rolled-back request asks Stripe for nothing.
    submit_refund.enqueue(str(refund.pk))
    return refund


def _event_metadata(refund: Refund) -> dict[str, Any]:
    return {
        "refund": str(refund.pk),
        "amount": refund.amount,
        "currency": refund.currency,
        "refundState": refund.state,
    }


# --- asking Stripe (the task) --------------------------------------------------------------------


@task()
def submit_refund(refund_id: str) -> str:
    """The queue's job: ask Stripe for one pending refund, outside any transaction. Returns the
    refund's state after Stripe's answer, "retrying" (Stripe unreachable: queued again with
    backoff) or "skipped" (already at Stripe, or no longer pending)."""
    refund = Refund.objects.select_related("payment", "order").filter(pk=refund_id).first()
    if refund is None or refund.state != State.PENDING or refund.stripe_refund_id:
        return "skipped"
    attempts = refund.attempts + 1
    Refund.objects.filter(pk=refund.pk).update(attempts=F("attempts") + 1)
    try:
        answer = get_gateway().create_refund(
            payment_intent=refund.payment.payment_intent_id or "",
            amount=refund.amount,
            currency=refund.currency,
            idempotency_key=refund.idempotency_key,
            metadata={
                "refundId": str(refund.pk),
                "orderId": str(refund.order_id),
                "reference": refund.order.reference,
            },
        )
    except GatewayUnavailable as exc:
        if attempts < MAX_ATTEMPTS:
            retry_at = timezone.now() + RETRY_DELAY * 2 ** (attempts - 1)
            with transaction.atomic():
                Refund.objects.filter(pk=refund.pk, state=State.PENDING).update(
                    failure_reason=f"Stripe unreachable, trying again (attempt {attempts}): {exc}"
                )
                submit_refund.using(run_after=retry_at).enqueue(refund_id)
            logger.warning(
                "Refund %s for %s: Stripe unreachable (attempt %d of %d), retry at %s: %s",
                refund.pk,
                refund.order.reference,
                attempts,
                MAX_ATTEMPTS,
                retry_at,
                exc,
            )
            return "retrying"
        return _fail(refund, f"Stripe could not be reached in {attempts} attempts: {exc}")
    except GatewayError as exc:
        return _fail(refund, f"Stripe refused the refund: {exc}")
    with transaction.atomic(durable=True):
        lock_order(refund.order_id, with_owner=True)
        locked = Refund.objects.select_for_update().select_related("order").get(pk=refund.pk)
        advance(locked, answer, source=EventSource.SYSTEM)
    return locked.state


def _fail(refund: Refund, reason: str) -> str:
    with transaction.atomic(durable=True):
        lock_order(refund.order_id, with_owner=True)
        locked = Refund.objects.select_for_update().select_related("order").get(pk=refund.pk)
        advance(locked, {"status": "failed", "failure_reason": reason}, source=EventSource.SYSTEM)
    return locked.state


# --- Stripe's word -------------------------------------------------------------------------------


def advance(refund: Refund, stripe_refund: Mapping[str, Any], *, source: EventSource) -> bool:
    """Move a refund (locked, with its order row) to the state Stripe reports, if that is forward.

    A stale or repeated report changes nothing, so events that arrive late, twice or out of order
    cannot move a refund back. Reaching succeeded puts it on the customer's timeline and mails
    them; reaching failed or canceled mails the shop's staff. Each happens once: a state is
    reached once. Returns whether the state changed."""
    fields = []
    stripe_id = stripe_refund.get("id")
    if isinstance(stripe_id, str) and stripe_id and not refund.stripe_refund_id:
        refund.stripe_refund_id = stripe_id
        fields.append("stripe_refund_id")
    status = stripe_refund.get("status")
    new = STRIPE_STATES.get(status) if isinstance(status, str) else None
    if new is None:
        logger.warning("Refund %s: unknown Stripe status %r ignored", refund.pk, status)
    elif new == refund.state and new == State.PENDING and refund.stripe_status != status:
        refund.stripe_status = status  # pending ↔ requires_action: Stripe's detail, same state
        fields.append("stripe_status")
    changed = new is not None and RANK[new] > RANK[refund.state]
    if changed:
        refund.state = new
        refund.stripe_status = status
        refund.settled_at = timezone.now()
        fields += ["state", "stripe_status", "settled_at", "failure_reason"]
        refund.failure_reason = (
            _failure_words(stripe_refund.get("failure_reason")) if new != State.SUCCEEDED else ""
        )
    elif new == State.PENDING and refund.failure_reason and refund.stripe_refund_id:
        refund.failure_reason = ""  # a retry got through: the "trying again" note is over
        fields.append("failure_reason")
    if fields:
        refund.save(update_fields=[*dict.fromkeys(fields), "updated_at"])
    if changed:
        _announce(refund, source=source)
    return changed


def _failure_words(reason: object) -> str:
    if not isinstance(reason, str) or not reason:
        return "Stripe gave no reason."
    if " " in reason:
        return reason  # already words (ours)
    return f"Stripe: {reason.replace('_', ' ')}"


def _announce(refund: Refund, *, source: EventSource) -> None:
    order = refund.order
    money = format_money(refund.amount, refund.currency)
    if refund.state == State.SUCCEEDED:
        record_refund_event_in_transaction(
            order=order,
            status="Refunded",
            message=f"{money} refunded to your card",
            actor=None,
            source=source,
            metadata=_event_metadata(refund),
        )
        notifications.refund_succeeded(order=order, amount=money)
        return
    logger.error(
        "Refund %s of %s for %s %s: %s",
        refund.pk,
        money,
        order.reference,
        refund.state,
        refund.failure_reason,
    )
    notifications.refund_failed(order=order, amount=money, reason=refund.failure_reason)
    # No timeline event (the customer is not told; the staff are): the open ops page still
    # refreshes, so the failure banner shows without a reload.
    broadcasts.order_changed(order, [])


def apply_refund_in_transaction(
    *, order: ProductionOrder, stripe_refund: Mapping[str, Any], source: EventSource
) -> tuple[str, str]:
    """A refund object from a Stripe event, for an order whose row the caller has locked.

    Ours (found by the `refundId` metadata we send, or by Stripe's id): moved forward if Stripe
    says so. Unknown, on one of our payments: a refund made in Stripe's dashboard, recorded so the
    paid total stays true. Returns (outcome, detail) for the event log."""
    refund = _ours(order, stripe_refund)
    if refund is not None:
        if refused := refund_refusal(stripe_refund, refund.payment):
            logger.error("%s: Stripe refund event refused: %s", order.reference, refused)
            return "refund_refused", refused
        changed = advance(refund, stripe_refund, source=source)
        if changed:
            return "refund_updated", f"Refund {refund.pk} is {refund.state}."
        return "unchanged", f"Refund {refund.pk} is already {refund.state}."
    payment = Payment.objects.filter(
        order=order, payment_intent_id=stripe_refund.get("payment_intent") or "-"
    ).first()
    if payment is None:
        return "unknown_payment", "No payment of this order matches the refund."
    amount = stripe_refund.get("amount")
    if not isinstance(amount, int):
        refused = f"Refund {stripe_refund.get('id')} carries no amount."
    else:
        refused = refund_refusal(stripe_refund, payment)
    if refused:
        # Nothing recorded: a refund its payment cannot have is no refund of this shop's money.
        logger.error("%s: Stripe refund event refused: %s", order.reference, refused)
        return "refund_refused", refused
    refund = Refund.objects.create(
        order=order,
        payment=payment,
        amount=amount,
        currency=str(stripe_refund.get("currency") or payment.currency).lower(),
        reason=Reason.EXTERNAL,
        stripe_refund_id=stripe_refund["id"],
        idempotency_key=f"external-{stripe_refund['id']}",
        note="Made outside this app (Stripe dashboard or API).",
    )
    refund.order = order
    advance(refund, stripe_refund, source=source)
    logger.warning(
        "%s: refund %s of %s made outside this app recorded",
        order.reference,
        stripe_refund["id"],
        format_money(amount, refund.currency),
    )
    return "refund_recorded", f"Refund {stripe_refund['id']} made outside this app, recorded."


def refund_refusal(stripe_refund: Mapping[str, Any], payment: Payment) -> str:
    """Why a refund object from Stripe cannot be one of `payment`'s ("" when it can): an amount
    outside 1 to what the payment took (negative, larger than the payment, larger than any
    column), or another currency. Such an event is genuine (it is signed), but acting on it
    cannot be right, and Stripe sending it again would not change it."""
    amount, currency = stripe_refund.get("amount"), stripe_refund.get("currency")
    refund_id = stripe_refund.get("id")
    if isinstance(amount, int) and not 0 < amount <= payment.amount:
        return (
            f"Refund {refund_id} is for {amount} (minor units), outside what payment "
            f"{payment.payment_intent_id} can give back: 1 to {payment.amount} "
            f"({format_money(payment.amount, payment.currency)})."
        )
    if isinstance(currency, str) and currency.lower() != payment.currency:
        return (
            f"Refund {refund_id} is in {currency.upper()}, payment {payment.payment_intent_id} "
            f"was in {payment.currency.upper()}."
        )
    return ""


def _ours(order: ProductionOrder, stripe_refund: Mapping[str, Any]) -> Refund | None:
    refunds = Refund.objects.select_for_update().filter(order=order)
    metadata = stripe_refund.get("metadata") or {}
    try:
        refund_id = UUID(str(metadata.get("refundId")))
    except ValueError:
        refund_id = None
    refund = refunds.filter(pk=refund_id).first() if refund_id else None
    if refund is None:
        refund = refunds.filter(stripe_refund_id=stripe_refund.get("id")).first()
    if refund is not None:
        refund.order = order
    return refund


def order_for_refund(stripe_refund: Mapping[str, Any]) -> UUID | None:
    """The order a Stripe refund object is about: our metadata, Stripe's refund id, or the payment
    intent of one of our payments."""
    metadata = stripe_refund.get("metadata") or {}
    for candidate in (metadata.get("orderId"),):
        try:
            order_id = UUID(str(candidate))
        except ValueError:
            continue
        if ProductionOrder.objects.filter(pk=order_id).exists():
            return order_id
    known = Refund.objects.filter(stripe_refund_id=stripe_refund.get("id") or "-")
    order_id = known.values_list("order_id", flat=True).first()
    if order_id is None:
        return order_for_payment_intent(stripe_refund.get("payment_intent"))
    return order_id


def order_for_payment_intent(payment_intent: object) -> UUID | None:
    if not isinstance(payment_intent, str) or not payment_intent:
        return None
    return (
        Payment.objects.filter(payment_intent_id=payment_intent)
        .values_list("order_id", flat=True)
        .first()
    )


def settle_refund(*, refund_id: UUID, stripe_refund: Mapping[str, Any]) -> bool:
    """Apply a refund as Stripe reports it when asked (reconcile_payments): forward only, like
    its events. Returns whether the state changed."""
    with transaction.atomic(durable=True):
        order_id = Refund.objects.values_list("order_id", flat=True).get(pk=refund_id)
        lock_order(order_id, with_owner=True)
        refund = Refund.objects.select_for_update().select_related("order").get(pk=refund_id)
        return advance(refund, stripe_refund, source=EventSource.SYSTEM)


def pending_refunds(*, older_than: timedelta) -> Iterable[Refund]:
    """Refunds still pending after `older_than` (reconcile_payments asks Stripe about them)."""
    return (
        Refund.objects.filter(state=State.PENDING, created_at__lte=timezone.now() - older_than)
        .select_related("order")
        .order_by("created_at")
    )
