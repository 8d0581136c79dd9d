"""Webhook deliveries built on Stripe's example objects, signed with the stripe library."""

from __future__ import annotations

import copy
import json
import time
from functools import cache
from pathlib import Path
from typing import Any

import stripe
from django.conf import settings

FIXTURES = Path(__file__).parent / "fixtures"
WEBHOOK_URL = "/api/stripe/webhook"


@cache
def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def checkout_session(order: Any | None = None, **overrides: Any) -> dict[str, Any]:
    """Stripe's example Checkout Session, filled in as Stripe would for `order`, paid."""
    session = copy.deepcopy(_fixture("checkout.session.json"))
    if order is not None:
        session.update(
            id=order.stripe_checkout_session_id or session["id"],
            client_reference_id=str(order.pk),
            amount_subtotal=order.total_amount,
            amount_total=order.total_amount,
            currency=order.currency,
            metadata={"orderId": str(order.pk), "reference": order.reference},
            # One payment intent per order, as Stripe makes them (the example's is one for all).
            payment_intent=f"pi_test_{order.pk.hex[:24]}",
        )
    session.update(status="complete", payment_status="paid")
    session.update(overrides)
    return session


def refund_object(**overrides: Any) -> dict[str, Any]:
    """Stripe's example Refund, with `overrides` (id, amount, status, payment_intent, metadata)."""
    refund = copy.deepcopy(_fixture("refund.json"))
    refund.update(overrides)
    return refund


def charge_object(
    *, refunds: list[dict[str, Any]] | None = None, **overrides: Any
) -> dict[str, Any]:
    """Stripe's example Charge, refunded: `refunds` listed as Stripe does when they are expanded
    (None: not included, as Stripe sends charge.refunded since API version 2022-11-15)."""
    charge = copy.deepcopy(_fixture("charge.json"))
    charge.update(refunded=True, captured=True, amount_captured=charge["amount"])
    if refunds is None:
        charge.pop("refunds", None)
    else:
        charge["refunds"]["data"] = refunds
        charge["amount_refunded"] = sum(r.get("amount", 0) for r in refunds)
    charge.update(overrides)
    return charge


def stripe_event(event_type: str, session: dict[str, Any], event_id: str) -> dict[str, Any]:
    """Stripe's example Event envelope carrying `session` (or any other object)."""
    event = copy.deepcopy(_fixture("event.json"))
    event.update(id=event_id, type=event_type, data={"object": session})
    return event


def example_event() -> dict[str, Any]:
    """Stripe's example event as it is (a `plan.created`, which this shop does not handle)."""
    return copy.deepcopy(_fixture("event.json"))


def sign(payload: str, *, secret: str | None = None, timestamp: int | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(
        payload,
        secret if secret is not None else settings.STRIPE_WEBHOOK_SECRET,
        timestamp=timestamp if timestamp is not None else int(time.time()),
    )


def deliver(client: Any, event: dict[str, Any], **signing: Any) -> Any:
    """POST an event to the webhook the way Stripe does: raw JSON body, Stripe-Signature header."""
    payload = json.dumps(event)
    return client.post(
        WEBHOOK_URL,
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": sign(payload, **signing)},
    )
