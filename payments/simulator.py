"""The local checkout simulator: Stripe Checkout's stand-in when no STRIPE_SECRET_KEY is set.

Its Pay button builds the `checkout.session.completed` event Stripe would send, signs it with
STRIPE_WEBHOOK_SECRET in Stripe's scheme, and delivers it to `receive_webhook`, the code behind
the real webhook endpoint, signature check included. It serves only when DEBUG is on: in
production anyone reaching it could mark orders paid.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

import stripe
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from payments.forms import CheckoutAddressForm
from payments.gateway import (
    LOCAL_SESSION_PREFIX,
    LocalCheckoutGateway,
    checkout_session_params,
    shipping_params,
)
from payments.services import (
    COMPLETED,
    EXPIRED,
    EventResult,
    handle_event,
    receive_webhook,
    site_base_url,
)
from production.accounts.access import can_view_order
from production.lifecycle import OrderFacts, payment_refusal
from production.models import ProductionOrder
from production.services.orders import attach_checkout_session, order_address

SESSION_LIFETIME_SECONDS = 24 * 3600  # Stripe's default for Checkout Sessions


def simulator_enabled() -> bool:
    # With a real key the sessions live at Stripe, and the secret is Stripe's: never forge them.
    return bool(settings.DEBUG or settings.CHECKOUT_SIMULATOR) and not settings.STRIPE_SECRET_KEY


def _debug_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not simulator_enabled():
            raise Http404(
                "The checkout simulator runs only with DEBUG or CHECKOUT_SIMULATOR on and no "
                "Stripe key."
            )
        return view(request, *args, **kwargs)

    return wrapper


def checkout_session_object(
    order: ProductionOrder,
    *,
    base_url: str,
    status: str,
    payment_status: str,
    shipping_details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `data.object` Stripe would put in a checkout event for this order's session: with
    its shipping option and, when the session collected an address, `shipping_details` under
    `collected_information` (Stripe's place for it since API version 2025-03-31)."""
    params = checkout_session_params(order=order, base_url=base_url)
    created = int(order.created_at.timestamp())
    shipping = order.shipping_amount if params.get("shipping_options") else 0
    rate = f"shr_local_{order.pk.hex[:24]}"
    return {
        "id": order.stripe_checkout_session_id,
        "object": "checkout.session",
        "amount_subtotal": order.total_amount - shipping,
        "amount_total": order.total_amount,
        "collected_information": {
            "business_name": None,
            "individual_name": None,
            "shipping_details": shipping_details,
        },
        "shipping_address_collection": params.get("shipping_address_collection"),
        "shipping_cost": (
            {
                "amount_subtotal": shipping,
                "amount_tax": 0,
                "amount_total": shipping,
                "shipping_rate": rate,
            }
            if params.get("shipping_options")
            else None
        ),
        "shipping_options": (
            [{"shipping_amount": shipping, "shipping_rate": rate}]
            if params.get("shipping_options")
            else []
        ),
        "cancel_url": params["cancel_url"],
        "client_reference_id": params["client_reference_id"],
        "created": created,
        "currency": order.currency,
        "customer_email": params.get("customer_email"),
        "expires_at": created + SESSION_LIFETIME_SECONDS,
        "livemode": False,
        "metadata": params["metadata"],
        "mode": "payment",
        "payment_intent": f"pi_local_{order.pk.hex}" if payment_status == "paid" else None,
        "payment_method_types": ["card"],
        "payment_status": payment_status,
        "status": status,
        "success_url": params["success_url"],
        "url": order.checkout_url,
    }


def deliver_event(event_type: str, session: dict[str, Any]) -> EventResult:
    """Sign an event like Stripe does and hand it to the webhook's own receiving code."""
    payload = json.dumps(stripe_event(event_type, session))
    signature = stripe.WebhookSignature.generate_signature_header(
        payload, settings.STRIPE_WEBHOOK_SECRET
    )
    return receive_webhook(payload=payload.encode(), signature=signature)


def pay_locally(order: ProductionOrder, *, base_url: str) -> EventResult:
    """Pay a draft as the simulator's Pay button does, without a browser, for demo data: a local
    checkout session, then the paid `checkout.session.completed` Stripe would send for it, acted
    on by the webhook's own code (the order submitted, its Payment and the event logged), so a
    demo order can be refunded like a real one. Trusted callers only: nothing is signed."""
    session = LocalCheckoutGateway().create_session(order=order, base_url=base_url)
    order = attach_checkout_session(order=order, session_id=session.id, checkout_url=session.url)
    paid = checkout_session_object(
        order, base_url=base_url, status="complete", payment_status="paid"
    )
    return handle_event(stripe_event(COMPLETED, paid))


def stripe_event(event_type: str, session: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"evt_local_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": stripe.api_version,
        "created": int(time.time()),
        "data": {"object": session},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def _order_for_session(request: HttpRequest, session_id: str) -> ProductionOrder:
    if not session_id.startswith(LOCAL_SESSION_PREFIX):
        raise Http404("Not a local checkout session.")
    order = get_object_or_404(
        ProductionOrder.objects.select_related("garment", "shipping_address").prefetch_related(
            "line_items"
        ),
        stripe_checkout_session_id=session_id,
    )
    if not can_view_order(request.user, order):
        raise PermissionDenied
    return order


def _address_form(order: ProductionOrder, data: Any = None) -> CheckoutAddressForm | None:
    """The address fields, when the session collects an address (as Stripe's page asks)."""
    collection = shipping_params(order).get("shipping_address_collection")
    if collection is None:
        return None
    return CheckoutAddressForm(data, allowed_countries=collection["allowed_countries"])


def _render_page(
    request: HttpRequest,
    order: ProductionOrder,
    session_id: str,
    address_form: CheckoutAddressForm | None,
    status: int = 200,
) -> HttpResponse:
    shipping = shipping_params(order).get("shipping_options")
    return render(
        request,
        "payments/checkout.html",
        {
            "order": order,
            "session_id": session_id,
            "payable": payment_refusal(OrderFacts.of(order)) is None,
            "cancel_url": f"{reverse('order-detail', args=[order.pk])}?checkout=canceled",
            # What Stripe's page shows of the address: the one our form collected, or fields.
            "ship_to": order_address(order),
            "full_address": request.user.pk == order.owner_id,
            "pickup_address": settings.PICKUP_ADDRESS,
            "shipping_option": shipping[0]["shipping_rate_data"] if shipping else None,
            "address_form": address_form,
        },
        status=status,
    )


@_debug_only
@login_required
def checkout_page(request: HttpRequest, session_id: str) -> HttpResponse:
    order = _order_for_session(request, session_id)
    return _render_page(request, order, session_id, _address_form(order))


@_debug_only
@login_required
@require_POST
def checkout_action(request: HttpRequest, session_id: str) -> HttpResponse:
    """Pay (a paid `completed` event) or let the session expire (an `expired` event)."""
    order = _order_for_session(request, session_id)
    action = request.POST.get("action")
    order_page = reverse("order-detail", args=[order.pk])
    if action not in ("pay", "expire"):
        return redirect("payments:checkout", session_id=session_id)
    if payment_refusal(OrderFacts.of(order)):
        return redirect(order_page)
    base_url = site_base_url(request)
    if action == "pay":
        address_form = _address_form(order, request.POST)
        if address_form is not None and not address_form.is_valid():
            return _render_page(request, order, session_id, address_form, status=400)
        session = checkout_session_object(
            order,
            base_url=base_url,
            status="complete",
            payment_status="paid",
            shipping_details=address_form.shipping_details() if address_form else None,
        )
        deliver_event(COMPLETED, session)
        return redirect(f"{order_page}?checkout=success")
    session = checkout_session_object(
        order, base_url=base_url, status="expired", payment_status="unpaid"
    )
    deliver_event(EXPIRED, session)
    return redirect(order_page)
