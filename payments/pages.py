"""Customer pages of the payments app: the order form, its live price, and paying a draft again."""

import logging
from typing import Any
from uuid import UUID, uuid4

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from artwork.models import Verdict
from artwork.tasks import checkout_gate
from payments.forms import OrderForm, QuoteForm, garment_choices
from payments.gateway import GatewayError
from payments.services import start_checkout
from production.api.throttles import order_creation_wait
from production.exceptions import CheckoutUnavailable, OrderError
from production.lifecycle import OrderFacts, payment_refusal
from production.models import ProductionOrder
from production.plumbing.db_retry import rerun_safe
from production.pricing import Quote, format_money
from production.services.orders import place_order

logger = logging.getLogger(__name__)

GATEWAY_DOWN = (
    "We could not reach the payment provider, so nothing was charged. "
    "Your order is saved: please try again in a moment."
)


def too_many_orders(wait: int) -> str:
    return (
        "You have started many orders in a short time, so this one was not created. "
        f"Please wait {wait} second{'s' if wait != 1 else ''} and submit again."
    )


def render_form(request: HttpRequest, form: OrderForm, status: int = 200) -> HttpResponse:
    quote = form.quote() if form.is_bound else None
    context = {
        "form": form,
        "quote": quote,
        "garment_data": garment_choices(form.garments),
    }
    return render(request, "payments/order_form.html", context, status=status)


@rerun_safe  # the form's token is the order's Idempotency-Key: a re-run finds its draft
@login_required
def new_order(request: HttpRequest) -> HttpResponse:
    """The order form: a priced draft through the same service as the API, then checkout.
    `?garment=<gid>` preselects a garment (the home page's cards link here)."""
    if request.method != "POST":
        initial = {"form_token": uuid4().hex, "garment": request.GET.get("garment", "")}
        return render_form(request, OrderForm(initial=initial))
    form = OrderForm(request.POST)
    if "update_price" in request.POST:
        # The "Update price" button of a page without JavaScript: show the price, make nothing.
        form.is_valid()
        return render_form(request, form)
    # The API's creation rate, on the same per-user counter: checked before anything is made.
    wait = order_creation_wait(request)
    if wait is not None:
        form.is_valid()  # keep what was typed on the page, with its own errors
        form.add_error(None, too_many_orders(wait))
        response = render_form(request, form, status=429)
        response["Retry-After"] = str(wait)
        return response
    if form.is_valid():
        try:
            placed = place_order(
                owner=request.user,
                garment_gid=form.cleaned_data["garment"].shopify_gid,
                garment=form.cleaned_data["garment"],  # read with its catalogue: not again
                design_url=form.cleaned_data["design_url"],
                sizes=form.sizes(),
                designs=form.designs(),
                priority=form.cleaned_data["priority"],
                notes=form.cleaned_data["notes"],
                idempotency_key=form.idempotency_key(),
                request=request,
                delivery=form.delivery_choice(),
                shipping=form.address,
            )
            return redirect(placed.checkout_url)
        except OrderError as exc:
            form.add_service_errors(exc.details)
        except CheckoutUnavailable:
            logger.exception("Checkout could not be started from the order form")
            form.add_error(None, GATEWAY_DOWN)
    return render_form(request, form)


@login_required
@require_GET
def order_price(request: HttpRequest) -> JsonResponse:
    """The live price of the order form (GET, the form's fields as the query): the same
    `quote_order` that prices the order at checkout, so the two cannot disagree. A form not
    complete enough to price (no quantity yet) is an ordinary answer, `"ok": false` with what is
    missing, not an error: the page asks while the customer is still typing. The colour's
    variants and each filled placement are priced as the order prices them."""
    form = QuoteForm(request.GET)
    form.is_valid()
    quote = form.quote()
    body = quote_json(quote)
    if quote is None:
        body["errors"] = {name: [str(e) for e in errors] for name, errors in form.errors.items()}
        # A quantity the form refused (above the limit) is what to fix, not "enter a quantity".
        refused = [form.errors[name][0] for _, name in form.size_fields if name in form.errors]
        if refused:
            body["message"] = str(refused[0])
    return JsonResponse(body)


@login_required
@require_POST
def pay_order(request: HttpRequest, order_id: UUID) -> HttpResponse:
    """Back to checkout for an unpaid draft (after a canceled checkout or a provider error)."""
    order = get_object_or_404(ProductionOrder, pk=order_id)
    if order.owner_id != request.user.pk:
        raise PermissionDenied
    if payment_refusal(OrderFacts.of(order)):  # paid or canceled meanwhile: the page says so
        return redirect("order-detail", order_id=order.pk)
    gate = checkout_gate(order)
    if gate.refusal:  # the artwork check: the order page shows the report and what to do
        if gate.verdict != Verdict.PENDING:  # a running check: the page shows its progress
            messages.error(request, gate.refusal)
        return redirect("order-detail", order_id=order.pk)
    try:
        return redirect(start_checkout(order=order, request=request))
    except GatewayError:
        logger.exception("Checkout could not be started for %s", order.reference)
        messages.error(request, GATEWAY_DOWN)
        return redirect("order-detail", order_id=order.pk)


def quote_json(quote: Quote | None) -> dict[str, Any]:
    """The live price as the order form's script shows it: formatted by the server."""
    if quote is None:
        return {"ok": False, "message": "Enter a quantity to see the price."}
    return {
        "ok": True,
        "total": format_money(quote.total, quote.currency),
        "totalAmount": quote.total,
        "currency": quote.currency,
        "subtotal": format_money(quote.subtotal, quote.currency),
        "rushSurcharge": format_money(quote.rush_surcharge, quote.currency)
        if quote.rush_surcharge
        else "",
        "quantity": quote.total_quantity,
        "shipping": format_money(quote.shipping, quote.currency) if quote.shipping else "",
        "lines": [
            {
                "size": line.size,
                "quantity": line.quantity,
                "unitPrice": format_money(line.unit_amount, quote.currency),
                "amount": format_money(line.unit_amount * line.quantity, quote.currency),
            }
            for line in quote.lines
        ],
    }
