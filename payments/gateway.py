"""The payments gateway interface: a real Stripe Checkout Session and Refund, or the local
simulator's.

Everything here talks to the network (or pretends to): never call it inside a transaction.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol

import stripe
from django.conf import settings

from production.addresses import allowed_countries
from production.exceptions import CheckoutUnavailable
from production.lifecycle import Delivery
from production.models import ProductionOrder
from production.services.artwork import closed_checkout_sessions
from production.services.orders import order_address

STRIPE_METADATA_LIMIT = 500  # characters per metadata value
# Below gunicorn's 30 s worker timeout, so a slow Stripe fails the request instead of the worker.
STRIPE_TIMEOUT_SECONDS = 20
# Safe to retry: every create carries the order's idempotency key.
STRIPE_NETWORK_RETRIES = 2
LOCAL_SESSION_PREFIX = "cs_local_"


class GatewayError(CheckoutUnavailable):
    """The payment provider refused or could not do what was asked (network, auth, invalid
    request)."""


class GatewayUnavailable(GatewayError):
    """A passing failure (network, rate limit, Stripe's own error, a request with the same
    idempotency key in flight): the same request, with the same key, may be tried again later."""


def _gateway_error(exc: stripe.StripeError) -> GatewayError:
    transient = isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError) or (
        exc.http_status is not None and (exc.http_status >= 500 or exc.http_status == 409)
    )
    message = exc.user_message or str(exc) or type(exc).__name__
    return (GatewayUnavailable if transient else GatewayError)(message)


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


class CheckoutGateway(Protocol):
    def create_session(self, *, order: ProductionOrder, base_url: str) -> CheckoutSession: ...

    def expire_session(self, session_id: str) -> None: ...

    def create_refund(
        self,
        *,
        payment_intent: str,
        amount: int,
        currency: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> dict[str, Any]: ...


def success_url(order: ProductionOrder, base_url: str) -> str:
    return f"{base_url}/orders/{order.pk}/?checkout=success"


def cancel_url(order: ProductionOrder, base_url: str) -> str:
    return f"{base_url}/orders/{order.pk}/?checkout=canceled"


def session_round(order: ProductionOrder) -> int:
    """How many of the order's Checkout Sessions the shop closed for its artwork (decision
    0069): the next session is a new one, under a key of its own."""
    return len(closed_checkout_sessions(order))


def idempotency_key(order: ProductionOrder, round_: int = 0) -> str:
    """One key per order (and per session the shop closed): a retried create gets the same
    session back from Stripe, and the session after a closed one is a new one."""
    return f"checkout-order-{order.pk}" + (f"-{round_}" if round_ else "")


class LocalCheckoutGateway:
    """The embedded default: a simulator page on this server stands in for Stripe (DEBUG only)."""

    def create_session(self, *, order: ProductionOrder, base_url: str) -> CheckoutSession:
        # One session per order, like Stripe with the per-order idempotency key (and a new one
        # after the shop closed one for its artwork).
        round_ = session_round(order)
        session_id = f"{LOCAL_SESSION_PREFIX}{order.pk.hex}" + (f"_{round_}" if round_ else "")
        return CheckoutSession(id=session_id, url=f"{base_url}/payments/checkout/{session_id}/")

    def expire_session(self, session_id: str) -> None:
        """Nothing to tell: the simulator's page finds no order for a session the order forgot."""

    def create_refund(
        self,
        *,
        payment_intent: str,
        amount: int,
        currency: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> dict[str, Any]:
        """A simulated refund that succeeds at once (as most card refunds do at Stripe), shaped
        like Stripe's; the same key gives the same refund id, as Stripe's idempotency does."""
        refund_id = f"re_local_{hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]}"
        return {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "currency": currency,
            "payment_intent": payment_intent,
            "metadata": metadata,
            "status": "succeeded",
            "failure_reason": None,
        }


class StripeCheckoutGateway:
    def __init__(self, api_key: str, api_base: str = "") -> None:
        self.client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=STRIPE_NETWORK_RETRIES,
            http_client=stripe.new_default_http_client(timeout=STRIPE_TIMEOUT_SECONDS),
        )

    def create_session(self, *, order: ProductionOrder, base_url: str) -> CheckoutSession:
        params = checkout_session_params(order=order, base_url=base_url)
        try:
            session = self.client.v1.checkout.sessions.create(
                params, options={"idempotency_key": idempotency_key(order, session_round(order))}
            )
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc
        if not session.id or not session.url:
            raise GatewayError("Stripe returned a checkout session without an id or URL.")
        return CheckoutSession(id=session.id, url=session.url)

    def expire_session(self, session_id: str) -> None:
        """Expire an open Checkout Session: its page no longer takes a payment. Stripe refuses
        one that is not open (paid or expired meanwhile): GatewayError."""
        try:
            self.client.v1.checkout.sessions.expire(session_id)
        except stripe.StripeError as exc:
            raise _gateway_error(exc) from exc

    def retrieve_session(self, session_id: str) -> dict[str, Any]:
        """A Checkout Session as a plain dict, shaped like the `data.object` of its events."""
        try:
            session = self.client.v1.checkout.sessions.retrieve(session_id)
        except stripe.StripeError as exc:
            raise GatewayError(str(exc)) from exc
        return session.to_dict()

    def create_refund(
        self,
        *,
        payment_intent: str,
        amount: int,
        currency: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> dict[str, Any]:
        """A `stripe.Refund` of `amount` on the payment intent, as a plain dict. The key makes a
        retried call (the SDK's own retries, a retried task) return the refund the first made.
        `currency` is the payment's: Stripe refunds in it, so it is not sent."""
        try:
            refund = self.client.v1.refunds.create(
                {"payment_intent": payment_intent, "amount": amount, "metadata": metadata},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _gateway_error(exc) from exc
        return refund.to_dict()

    def retrieve_refund(self, refund_id: str) -> dict[str, Any]:
        """A Refund as a plain dict, shaped like the `data.object` of its events."""
        try:
            refund = self.client.v1.refunds.retrieve(refund_id)
        except stripe.StripeError as exc:
            raise _gateway_error(exc) from exc
        return refund.to_dict()


def checkout_session_params(*, order: ProductionOrder, base_url: str) -> dict:
    """Checkout Session parameters priced on the server from the order's line items.

    The amounts are the ones stored on the draft when it was priced; the webhook checks the paid
    total against the same order, so what Stripe charges and what the order costs cannot drift.
    """
    garment = order.garment
    items = list(order.line_items.all())
    line_items = [
        {
            "price_data": {
                "currency": order.currency,
                "unit_amount": item.unit_amount,
                "product_data": {"name": f"{garment.name} — {item.size}"},
            },
            "quantity": item.quantity,
        }
        for item in items
    ]
    if order.rush_surcharge_amount:
        line_items.append(
            {
                "price_data": {
                    "currency": order.currency,
                    "unit_amount": order.rush_surcharge_amount,
                    "product_data": {"name": "Rush production"},
                },
                "quantity": 1,
            }
        )
    shipping = shipping_params(order)
    charged = sum(li["price_data"]["unit_amount"] * li["quantity"] for li in line_items)
    charged += order.shipping_amount if shipping else 0
    if charged != order.total_amount or not items:
        # A pricing bug must not reach a customer's card.
        raise GatewayError(
            f"{order.reference}: line items sum to {charged}, order costs {order.total_amount}."
        )
    sizes = json.dumps(
        [{"size": i.size, "quantity": i.quantity} for i in items], separators=(",", ":")
    )
    metadata = {
        "orderId": str(order.pk),
        "reference": order.reference,
        "userId": str(order.owner_id),
        "garmentId": garment.shopify_gid,
        "designUrl": order.design_url,
        "sizes": sizes,
    }
    # The order row holds every field; metadata is a convenience that must fit Stripe's limits.
    metadata = {k: v for k, v in metadata.items() if len(v) <= STRIPE_METADATA_LIMIT}
    params: dict = {
        "mode": "payment",
        "client_reference_id": str(order.pk),
        "line_items": line_items,
        "metadata": metadata,
        "payment_intent_data": {"metadata": {"orderId": str(order.pk)}},
        "success_url": success_url(order, base_url),
        "cancel_url": cancel_url(order, base_url),
        **shipping,
    }
    if order.owner.email:
        params["customer_email"] = order.owner.email
    return params


def shipping_params(order: ProductionOrder) -> dict[str, Any]:
    """What Checkout shows and asks of the delivery (decision 0060). An order to ship (or one
    from the API that did not say: delivery unknown) pays its shipping as Checkout's own
    shipping option, a fixed amount of the order's priced `shipping_amount` (0 when the order was
    priced without an address). An order without an address yet has Checkout collect it, in the
    countries shipped to (SHIPPING_COUNTRIES); the webhook stores it on the order. An order for
    pickup has neither."""
    if order.delivery == Delivery.PICKUP:
        return {}
    address = order_address(order)
    params: dict[str, Any] = {
        "shipping_options": [
            {
                "shipping_rate_data": {
                    "type": "fixed_amount",
                    "fixed_amount": {"amount": order.shipping_amount, "currency": order.currency},
                    "display_name": "Shipping",
                }
            }
        ]
    }
    if address is None:
        params["shipping_address_collection"] = {"allowed_countries": allowed_countries()}
    return params


def get_gateway() -> CheckoutGateway:
    if settings.STRIPE_SECRET_KEY:
        return StripeCheckoutGateway(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)
    return LocalCheckoutGateway()


def stripe_gateway() -> StripeCheckoutGateway | None:
    """The real-key gateway, or None when the local simulator stands in for Stripe."""
    gateway = get_gateway()
    return gateway if isinstance(gateway, StripeCheckoutGateway) else None
