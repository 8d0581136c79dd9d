"""Payment workflows: starting a checkout, and acting on Stripe's checkout and refund events
exactly once (refunds themselves: `payments.refunds`).

Order changes go through `production.services`; this module decides which change an event asks
for and logs the event id in the same transaction (see `ProcessedEvent`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.http import HttpRequest
from django.urls import reverse

from artwork.models import Verdict, order_gate
from artwork.tasks import checkout_gate
from payments import refunds
from payments.gateway import GatewayError, get_gateway
from payments.models import Payment, ProcessedEvent, Refund
from production.exceptions import OrderError, PaymentMismatch
from production.lifecycle import EventSource, OrderFacts, OrderState, payment_refusal
from production.models import ProductionOrder
from production.pricing import format_money
from production.selectors import locked_row, only_row
from production.services.artwork import close_checkout_session, closed_checkout_sessions
from production.services.orders import (
    attach_checkout_session,
    cancel_unpaid_order_in_transaction,
    submit_paid_order_in_transaction,
)
from production.services.shipping import record_checkout_address_in_transaction

logger = logging.getLogger(__name__)

Outcome = ProcessedEvent.Outcome

COMPLETED = "checkout.session.completed"
ASYNC_SUCCEEDED = "checkout.session.async_payment_succeeded"
ASYNC_FAILED = "checkout.session.async_payment_failed"
EXPIRED = "checkout.session.expired"

# Outcomes of a delivery that leaves no row in the log.
DUPLICATE = "duplicate"
IGNORED = "ignored"

# Stripe's payment_status values that mean the money is there (no_payment_required: a free order,
# which the amount check then refuses, since no order here costs nothing).
SETTLED = frozenset({"paid", "no_payment_required"})


# --- starting a checkout -------------------------------------------------------------------------


def site_base_url(request: HttpRequest | None) -> str:
    if settings.SITE_URL:
        return settings.SITE_URL.rstrip("/")
    if request is None:
        raise ValueError("SITE_URL is not set and there is no request to take the host from.")
    return request.build_absolute_uri("/").rstrip("/")


def order_page_url(order: ProductionOrder, request: HttpRequest | None) -> str:
    """The customer's order page, absolute (SITE_URL, or the request's host when there is one)."""
    path = reverse("order-detail", kwargs={"order_id": order.pk})
    if settings.SITE_URL or request is not None:
        return site_base_url(request) + path
    return path


def start_checkout(*, order: ProductionOrder, request: HttpRequest | None = None) -> str:
    """The checkout URL of a draft, creating its Checkout Session on first call.

    The gateway is called outside any transaction; a gateway error (GatewayError) leaves the draft
    as it was (no session), so a retry simply tries again.

    The artwork check comes first (`artwork.tasks.checkout_gate`: the designs are queued for a
    check; nothing waits for it): while the rulebook refuses the payment (a design that will not
    print well, warnings not yet acknowledged, or a check still running within its hold) the
    answer is the order's own page, which says why and what to do, shows a running check's
    progress and offers the payment once the verdict allows it, instead of a checkout.
    """
    gate = checkout_gate(order)
    if gate.refusal:
        return order_page_url(order, request)
    if order.checkout_url and order.stripe_checkout_session_id:
        return order.checkout_url
    refused = payment_refusal(OrderFacts.of(order), reference=order.reference)
    if refused:
        raise OrderError(refused, field="checkout")
    session = get_gateway().create_session(order=order, base_url=site_base_url(request))
    order = attach_checkout_session(order=order, session_id=session.id, checkout_url=session.url)
    return order.checkout_url


def close_checkout_for_artwork(order: ProductionOrder | UUID) -> bool:
    """Expire a draft's open Checkout Session once its artwork check has failed (decision 0069):
    a Stripe tab left open must not pay for a design that will not print. Called by the artwork
    check when it stores a fail (`settings.ORDER_CHECKOUT_CLOSE`); the gateway is called outside
    any transaction, then the order forgets the session (`close_checkout_session`), so the next
    payment, once the design is replaced or accepted, makes a new one. A session Stripe will not
    expire (paid or expired meanwhile) or a Stripe that cannot be reached is logged and left: the
    order page offers no payment while the check refuses, and a payment that came in is the
    webhook's. True when a session was closed."""
    order_id = order.pk if isinstance(order, ProductionOrder) else order
    current = ProductionOrder.objects.filter(pk=order_id).first()
    if current is None or current.status != OrderState.DRAFT:
        return False
    session_id = current.stripe_checkout_session_id
    if not session_id or order_gate(current).verdict != Verdict.FAIL:
        return False
    try:
        get_gateway().expire_session(session_id)
    except GatewayError:
        logger.exception("Checkout session %s of %s could not be expired", session_id, order_id)
        return False
    return close_checkout_session(order=order_id, session_id=session_id)


# --- receiving events ----------------------------------------------------------------------------


class InvalidSignature(Exception):
    """The Stripe-Signature header is missing, malformed, wrong, or outside the time tolerance."""


class InvalidEvent(Exception):
    """A correctly signed body that is not a Stripe event we can read."""


@dataclass(frozen=True)
class EventResult:
    event_id: str
    event_type: str
    outcome: str
    order_id: UUID | None = None
    detail: str = ""


def receive_webhook(*, payload: bytes, signature: str | None) -> EventResult:
    """Verify a webhook delivery as received and act on it once (Stripe and the simulator both)."""
    return handle_event(verify_event(payload=payload, signature=signature))


def verify_event(
    *, payload: bytes, signature: str | None, now: float | None = None
) -> dict[str, Any]:
    """The event in `payload`, once its signature proves Stripe (or the simulator) sent it.

    The signature covers the raw bytes, so they are verified exactly as received. Stripe's library
    refuses old timestamps; a timestamp too far in the future is refused here as well, so a
    captured delivery cannot be replayed outside the tolerance window in either direction.
    """
    secret = settings.STRIPE_WEBHOOK_SECRET
    tolerance = settings.STRIPE_WEBHOOK_TOLERANCE
    if signature is not None and len(signature) > MAX_SIGNATURE_HEADER:
        raise InvalidSignature("Stripe-Signature header too long")
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, signature, secret, tolerance)
    except (UnicodeDecodeError, stripe.SignatureVerificationError) as exc:
        raise InvalidSignature(str(exc)) from exc
    except TypeError as exc:
        # hmac.compare_digest refuses a non-ASCII signature in the header with TypeError.
        raise InvalidSignature("Malformed Stripe-Signature header") from exc
    timestamp = _signed_at(signature or "")
    if timestamp > (now if now is not None else time.time()) + tolerance:
        raise InvalidSignature(f"Timestamp outside the tolerance zone ({timestamp})")
    try:
        event = json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deeply
        raise InvalidEvent("The body is not JSON.") from exc
    if not isinstance(event, dict) or event.get("object") != "event":
        raise InvalidEvent("The body is not a Stripe event.")
    if not isinstance(event.get("id"), str) or not event["id"]:
        raise InvalidEvent("The event has no id.")
    if len(event["id"]) > MAX_EVENT_ID:
        raise InvalidEvent(f"The event id is longer than {MAX_EVENT_ID} characters.")
    if not isinstance(event.get("type"), str) or len(event["type"]) > MAX_EVENT_TYPE:
        raise InvalidEvent("The event has no type.")
    return event


# Columns of ProcessedEvent: longer values are no Stripe event, and would fail the insert (a 500).
MAX_EVENT_ID = ProcessedEvent._meta.get_field("event_id").max_length
MAX_EVENT_TYPE = ProcessedEvent._meta.get_field("event_type").max_length
MAX_OBJECT_ID = ProcessedEvent._meta.get_field("object_id").max_length
MAX_SIGNATURE_HEADER = 8192  # Stripe's header holds a timestamp and a few 64-character signatures


def _signed_at(header: str) -> int:
    # The same reading as stripe's verify_header (the first item whose key is exactly "t"),
    # which has accepted this header already.
    for item in header.split(","):
        key, _, value = item.partition("=")
        if key == "t":
            try:
                return int(value)
            except ValueError:
                break
    raise InvalidSignature("No timestamp in the signature header")


def handle_event(event: Mapping[str, Any]) -> EventResult:
    """Act on one verified event, exactly once per event id.

    Each handled type names the Stripe object it carries (a checkout session, a refund, a charge):
    the object is checked for the shape Stripe sends (InvalidEvent otherwise, a 400), its order is
    found and locked, and the handler decides. A duplicate (or replay) of a logged event changes
    nothing. The event row is inserted in the transaction that changes the order; if two
    deliveries of one event race, the order row lock makes the second see the first's change, and
    the unique event id rolls the second back. Database errors propagate, so the webhook answers
    500 and Stripe retries.
    """
    event_id, event_type = event["id"], event["type"]
    entry = _HANDLERS.get(event_type)
    if entry is None:
        logger.info("Stripe event %s of type %s ignored", event_id, event_type)
        return EventResult(event_id, event_type, IGNORED)
    kind, handler = entry
    foreign = other_account(event)
    obj = {} if foreign else kind.read(event)  # another account's object is not looked into
    # A fast path only: the unique column, not this read, is what guarantees once.
    if ProcessedEvent.objects.filter(event_id=event_id).exists():
        return EventResult(event_id, event_type, DUPLICATE)
    try:
        with transaction.atomic(durable=True):
            order = None if foreign else kind.locate(obj)
            if foreign:
                outcome, detail = Outcome.OTHER_ACCOUNT, foreign
                logger.error("Stripe event %s ignored: %s", event_id, detail)
            elif order is None:
                outcome, detail = kind.unknown
                logger.warning("Stripe event %s: %s", event_id, detail)
            else:
                outcome, detail = handler(order, obj, event_id)
            object_id = str(obj.get("id") or "")[:255]
            ProcessedEvent.objects.create(
                event_id=event_id,
                event_type=event_type,
                order=order,
                checkout_session_id=object_id if kind is CHECKOUT_SESSION else "",
                object_id="" if kind is CHECKOUT_SESSION else object_id,
                outcome=outcome,
                detail=detail,
                livemode=bool(event.get("livemode")),
            )
    except IntegrityError:
        if ProcessedEvent.objects.filter(event_id=event_id).exists():
            return EventResult(event_id, event_type, DUPLICATE)
        raise
    return EventResult(event_id, event_type, outcome, order.pk if order else None, detail)


def other_account(event: Mapping[str, Any]) -> str:
    """Why a verified event is not this shop's to act on ("" when it is): its `livemode` is not
    the mode of STRIPE_SECRET_KEY (a live key, `sk_live_`/`rk_live_`, expects live events; a test
    key or none, the simulator, test events), or it names a Stripe `account` other than
    STRIPE_ACCOUNT_ID (when that is set). Recorded as `other_account` and answered 200: the
    endpoint is configured for another account or mode, and Stripe sending it again would not
    make it ours (docs/decisions/0053). Stripe always sends `livemode`; an event without it (only
    this code's own tests and tools sign such events) counts as a test-mode event."""
    livemode = event.get("livemode", False)
    if not isinstance(livemode, bool):
        raise InvalidEvent("The event's livemode is not what Stripe sends.")
    secret_key = settings.STRIPE_SECRET_KEY
    live_key = secret_key.startswith(("sk_live_", "rk_live_"))
    if livemode != live_key:
        key = f"a {'live' if live_key else 'test'}-mode key" if secret_key else "empty"
        return f"a {'live' if livemode else 'test'}-mode event, but STRIPE_SECRET_KEY is {key}."
    account = event.get("account")
    expected = settings.STRIPE_ACCOUNT_ID
    if account is not None and expected:
        if not isinstance(account, str):
            raise InvalidEvent("The event's account is not what Stripe sends.")
        if account != expected:
            return f"an event of Stripe account {account[:64]!r}, not STRIPE_ACCOUNT_ID {expected}."
    return ""


@dataclass(frozen=True)
class _ObjectKind:
    """A Stripe object an event carries: how to check it, and how to find (and lock) its order."""

    read: Callable[[Mapping[str, Any]], Mapping[str, Any]]
    locate: Callable[[Mapping[str, Any]], ProductionOrder | None]
    unknown: tuple[str, str]


def _object_of(event: Mapping[str, Any], object_type: str) -> Mapping[str, Any]:
    data = event.get("data")
    obj = data.get("object") if isinstance(data, Mapping) else None
    if not isinstance(obj, Mapping) or obj.get("object") != object_type:
        raise InvalidEvent(f"{event['type']} does not carry a {object_type}.")
    return obj


def _check_types(obj: Mapping[str, Any], what: str, **types: Any) -> None:
    # Only the fields read here, and only with the types Stripe sends: anything else (a nested
    # object where an id belongs, say) is refused before it reaches the database or a log line.
    for name, allowed in types.items():
        value = obj.get(name)
        if not isinstance(value, allowed) or isinstance(value, bool):  # no field read is a bool
            raise InvalidEvent(f"The {what}'s {name} is not what Stripe sends.")
    metadata = obj.get("metadata")
    if not isinstance(metadata, Mapping | None) or not all(
        isinstance(v, str | None) for v in (metadata or {}).values()
    ):
        raise InvalidEvent(f"The {what}'s metadata is malformed.")


def _session_of(event: Mapping[str, Any]) -> Mapping[str, Any]:
    session = _object_of(event, "checkout.session")
    _check_types(session, "checkout session", **dict.fromkeys(_SESSION_STRINGS, str | None))
    return session


_REFUND_FIELDS: dict[str, Any] = {
    "id": str,
    "status": str | None,
    "amount": int | None,
    "currency": str | None,
    "payment_intent": str | None,
    "charge": str | None,
    "failure_reason": str | None,
}


def _check_refund(refund: Mapping[str, Any]) -> None:
    _check_types(refund, "refund", **_REFUND_FIELDS)
    # Columns of Refund: longer values are no Stripe refund, and would fail the write (a 500).
    if len(refund["id"]) > MAX_OBJECT_ID or len(refund.get("currency") or "") > 3:
        raise InvalidEvent("The refund's id or currency is longer than Stripe's.")


def _refund_of(event: Mapping[str, Any]) -> Mapping[str, Any]:
    refund = _object_of(event, "refund")
    _check_refund(refund)
    return refund


def _charge_of(event: Mapping[str, Any]) -> Mapping[str, Any]:
    charge = _object_of(event, "charge")
    _check_types(charge, "charge", id=str, payment_intent=str | None, amount_refunded=int | None)
    refunds = charge.get("refunds")
    # Stripe includes the list only when asked to expand it (API versions since 2022-11-15).
    if refunds is not None:
        if not isinstance(refunds, Mapping) or not isinstance(refunds.get("data"), list):
            raise InvalidEvent("The charge's refunds are not a list.")
        for refund in refunds["data"]:
            if not isinstance(refund, Mapping) or refund.get("object") != "refund":
                raise InvalidEvent("The charge's refunds hold something else than refunds.")
            _check_refund(refund)
    return charge


_SESSION_STRINGS = (
    "id",
    "client_reference_id",
    "payment_status",
    "payment_intent",
    "currency",
    "status",
)


def _locked(order_id: UUID | None) -> ProductionOrder | None:
    if order_id is None:
        return None
    return locked_row(ProductionOrder, order_id)


def _locked_order_for_refund(refund: Mapping[str, Any]) -> ProductionOrder | None:
    return _locked(refunds.order_for_refund(refund))


def _locked_order_for_charge(charge: Mapping[str, Any]) -> ProductionOrder | None:
    return _locked(refunds.order_for_payment_intent(charge.get("payment_intent")))


def _locked_order_for(session: Mapping[str, Any]) -> ProductionOrder | None:
    """The order a session pays for: client_reference_id, then metadata, then the session id."""
    metadata = session.get("metadata") if isinstance(session.get("metadata"), Mapping) else {}
    for candidate in (session.get("client_reference_id"), metadata.get("orderId")):
        try:
            order_id = UUID(str(candidate))
        except ValueError:
            continue
        order = _locked(order_id)
        if order is not None:
            return order
    session_id = session.get("id")
    if isinstance(session_id, str) and session_id:
        orders = ProductionOrder.objects.select_for_update()
        return only_row(orders.filter(stripe_checkout_session_id=session_id))
    return None


def checkout_address(session: Mapping[str, Any]) -> dict[str, str] | None:
    """The shipping address a Checkout Session collected (`shipping_address_collection`), in
    the API's field names, or None. Stripe sends it as `collected_information.shipping_details`
    since API version 2025-03-31, as `shipping_details` before; the phone, when Checkout asked
    for one, is the customer's. Anything but a string reads as empty: what is left is checked
    (and, failing, flagged) by the service that stores it, never refused here."""
    collected = session.get("collected_information")
    details = collected.get("shipping_details") if isinstance(collected, Mapping) else None
    if not isinstance(details, Mapping):
        details = session.get("shipping_details")
    address = details.get("address") if isinstance(details, Mapping) else None
    if not isinstance(address, Mapping) or not (address.get("line1") or address.get("country")):
        return None  # nothing collected (Stripe's example objects carry an empty one)
    customer = session.get("customer_details")
    phone = customer.get("phone") if isinstance(customer, Mapping) else None

    def text(value: object) -> str:
        return value if isinstance(value, str) else ""

    return {
        "name": text(details.get("name")),
        "address1": text(address.get("line1")),
        "address2": text(address.get("line2")),
        "city": text(address.get("city")),
        "stateCode": text(address.get("state")),
        "countryCode": text(address.get("country")),
        "zip": text(address.get("postal_code")),
        "phone": text(phone),
    }


def _submit(order: ProductionOrder, session: Mapping[str, Any], event_id: str) -> tuple[str, str]:
    amount, currency = session.get("amount_total"), session.get("currency")
    try:
        if not isinstance(amount, int) or isinstance(amount, bool) or not isinstance(currency, str):
            raise PaymentMismatch(
                f"Payment for {order.reference} has no amount or currency.", field="payment"
            )
        order, changed = submit_paid_order_in_transaction(
            order=order,
            amount_total=amount,
            currency=currency,
            checkout_session_id=session.get("id"),
            already_locked=True,  # by handle_event, in this transaction
            metadata={
                "stripeEventId": event_id,
                "checkoutSessionId": session.get("id"),
                "paymentIntent": session.get("payment_intent"),
            },
        )
    except PaymentMismatch as exc:
        # Nothing was written; a retry of the same event cannot fix it, so it is logged, answered
        # 200 and left to a person (the order stays a draft, the payment may need a refund).
        logger.error("Stripe event %s refused: %s", event_id, exc.message)
        return Outcome.REFUSED, exc.message
    if changed:
        address = checkout_address(session)
        if address is not None:
            record_checkout_address_in_transaction(order=order, address=address)
        refunds.record_payment_in_transaction(
            order=order, session=session, event_id=event_id, submitted_now=True
        )
        return Outcome.SUBMITTED, ""
    if order.status == OrderState.CANCELED:
        # The money came in for an order that no longer exists: all of it goes back.
        payment = refunds.record_payment_in_transaction(
            order=order, session=session, event_id=event_id
        )
        if payment is None:
            return Outcome.REFUND_NEEDED, f"{order.reference} was canceled before this payment."
        made = refunds.refund_remaining_in_transaction(
            order=order,
            reason=Refund.Reason.PAID_AFTER_CANCEL,
            actor=None,
            source=EventSource.STRIPE,
        )
        if not made:
            # This payment's refund was asked for already (another event of the same session,
            # say checkout.session.completed then async_payment_succeeded): nothing more to do.
            logger.info(
                "Stripe event %s: the payment of canceled %s is refunded already",
                event_id,
                order.reference,
            )
            return (
                Outcome.UNCHANGED,
                f"{order.reference} was canceled before this payment; its refund was asked for "
                "already, nothing more to refund.",
            )
        refunded = format_money(sum(r.amount for r in made), payment.currency)
        return (
            Outcome.REFUND_REQUESTED,
            f"{order.reference} was canceled before this payment: {refunded} refund requested.",
        )
    return Outcome.UNCHANGED, f"{order.reference} is already {order.status}."


def _refund_event(
    order: ProductionOrder, refund: Mapping[str, Any], event_id: str
) -> tuple[str, str]:
    return refunds.apply_refund_in_transaction(
        order=order, stripe_refund=refund, source=EventSource.STRIPE
    )


def _charge_refunded(
    order: ProductionOrder, charge: Mapping[str, Any], event_id: str
) -> tuple[str, str]:
    """`charge.refunded`: each refund it lists (when Stripe includes them) like a refund event;
    a total that our refunds do not explain is said in the log (the refund's own events record
    it)."""
    applied = [
        refunds.apply_refund_in_transaction(
            order=order, stripe_refund=refund, source=EventSource.STRIPE
        )
        for refund in (charge.get("refunds") or {}).get("data", [])
    ]
    outcomes = [outcome for outcome, _detail in applied]
    refused = " ".join(d for outcome, d in applied if outcome == Outcome.REFUND_REFUSED)
    detail = ""
    payment = Payment.objects.filter(order=order, payment_intent_id=charge.get("payment_intent"))
    payment = payment.first()
    reported = charge.get("amount_refunded")
    if payment is not None and isinstance(reported, int):
        known = (
            payment.refunds.filter(state=Refund.State.SUCCEEDED).aggregate(t=Sum("amount"))["t"]
            or 0
        )
        if reported > known:
            detail = (
                f"Stripe reports {format_money(reported, payment.currency)} refunded, "
                f"{format_money(known, payment.currency)} known here as succeeded."
            )
    if refused:
        return Outcome.REFUND_REFUSED, f"{refused} {detail}".strip()
    for outcome in (Outcome.REFUND_RECORDED, Outcome.REFUND_UPDATED):
        if outcome in outcomes:
            return outcome, detail
    return Outcome.UNCHANGED, detail


def _completed(
    order: ProductionOrder, session: Mapping[str, Any], event_id: str
) -> tuple[str, str]:
    if session.get("payment_status") in SETTLED:
        return _submit(order, session, event_id)
    # Delayed payment methods: async_payment_succeeded / _failed follows.
    return Outcome.AWAITING_PAYMENT, f"payment_status is {session.get('payment_status')!r}."


def _cancel_with(reason: str) -> Callable[..., tuple[str, str]]:
    def cancel(
        order: ProductionOrder, session: Mapping[str, Any], event_id: str
    ) -> tuple[str, str]:
        session_id = session.get("id")
        if session_id in closed_checkout_sessions(order):
            # The shop expired it for the order's artwork (decision 0069): the draft stays.
            return Outcome.STALE_SESSION, f"{order.reference}'s artwork closed this session."
        if order.stripe_checkout_session_id and session_id != order.stripe_checkout_session_id:
            # An old session of this order ending says nothing about the current one.
            return Outcome.STALE_SESSION, f"{order.reference} uses another checkout session."
        order, changed = cancel_unpaid_order_in_transaction(
            order=order, reason=reason, already_locked=True
        )
        if changed:
            return Outcome.CANCELED, reason
        return Outcome.UNCHANGED, f"{order.reference} is already {order.status}."

    return cancel


CHECKOUT_SESSION = _ObjectKind(
    read=_session_of,
    locate=_locked_order_for,
    unknown=(Outcome.UNKNOWN_ORDER, "No order matches this checkout session."),
)
REFUND = _ObjectKind(
    read=_refund_of,
    locate=_locked_order_for_refund,
    unknown=(Outcome.UNKNOWN_PAYMENT, "No payment of this shop matches the refund."),
)
CHARGE = _ObjectKind(
    read=_charge_of,
    locate=_locked_order_for_charge,
    unknown=(Outcome.UNKNOWN_PAYMENT, "No payment of this shop matches the charge."),
)

_Handler = Callable[[ProductionOrder, Mapping[str, Any], str], tuple[str, str]]
_HANDLERS: dict[str, tuple[_ObjectKind, _Handler]] = {
    COMPLETED: (CHECKOUT_SESSION, _completed),
    ASYNC_SUCCEEDED: (CHECKOUT_SESSION, _submit),
    ASYNC_FAILED: (CHECKOUT_SESSION, _cancel_with("Payment failed, order canceled")),
    EXPIRED: (CHECKOUT_SESSION, _cancel_with("Checkout expired before payment, order canceled")),
    # Refunds: their state comes from Stripe's refund events (charge.refund.updated is the older
    # name of refund.updated, still sent to endpoints that subscribe to it).
    "refund.created": (REFUND, _refund_event),
    "refund.updated": (REFUND, _refund_event),
    "refund.failed": (REFUND, _refund_event),
    "charge.refund.updated": (REFUND, _refund_event),
    "charge.refunded": (CHARGE, _charge_refunded),
}


# --- reconciliation ------------------------------------------------------------------------------


def reconcile_session(session: Mapping[str, Any]) -> EventResult | None:
    """Apply a Checkout Session Stripe reports as settled, as if its webhook had arrived.

    Runs through `handle_event` with an event id derived from the session and its status, so a
    second run is a duplicate, and a webhook arriving later finds the order already changed.
    Returns None for a session that is still open (or complete but not yet paid).
    """
    status = session.get("status")
    if status == "complete" and session.get("payment_status") in SETTLED:
        event_type = COMPLETED
    elif status == "expired":
        event_type = EXPIRED
    else:
        return None
    return handle_event(
        {
            "id": f"reconcile_{session.get('id')}_{status}",
            "object": "event",
            "type": event_type,
            "livemode": bool(session.get("livemode")),
            "data": {"object": session},
        }
    )
