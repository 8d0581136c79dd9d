"""Customer pages of the payments app: the order form, and paying a draft again."""

import logging
from uuid import UUID, uuid4

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from payments.forms import OrderForm
from payments.gateway import GatewayError
from payments.services import start_checkout
from production.exceptions import CheckoutUnavailable, OrderError
from production.lifecycle import OrderState
from production.models import ProductionOrder
from production.services import place_order
from production.throttles import order_creation_wait

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


@login_required
def new_order(request: HttpRequest) -> HttpResponse:
    """The order form: a priced draft through the same service as the API, then checkout."""
    if request.method != "POST":
        form = OrderForm(initial={"form_token": uuid4().hex})
        return render(request, "payments/order_form.html", {"form": form})
    form = OrderForm(request.POST)
    # The API's creation rate, on the same per-user counter: checked before anything is made.
    wait = order_creation_wait(request)
    if wait is not None:
        form.is_valid()  # keep what was typed on the page, with its own errors
        form.add_error(None, too_many_orders(wait))
        response = render(request, "payments/order_form.html", {"form": form}, status=429)
        response["Retry-After"] = str(wait)
        return response
    if form.is_valid():
        try:
            placed = place_order(
                owner=request.user,
                garment_gid=form.cleaned_data["garment"].shopify_gid,
                design_url=form.cleaned_data["design_url"],
                sizes=form.sizes(),
                priority=form.cleaned_data["priority"],
                notes=form.cleaned_data["notes"],
                idempotency_key=form.idempotency_key(),
                request=request,
            )
            return redirect(placed.checkout_url)
        except OrderError as exc:
            form.add_service_errors(exc.details)
        except CheckoutUnavailable:
            logger.exception("Checkout could not be started from the order form")
            form.add_error(None, GATEWAY_DOWN)
    return render(request, "payments/order_form.html", {"form": form})


@login_required
@require_POST
def pay_order(request: HttpRequest, order_id: UUID) -> HttpResponse:
    """Back to checkout for an unpaid draft (after a canceled checkout or a provider error)."""
    order = get_object_or_404(ProductionOrder, pk=order_id)
    if order.owner_id != request.user.pk:
        raise PermissionDenied
    if order.status != OrderState.DRAFT:
        return redirect("order-detail", order_id=order.pk)
    try:
        return redirect(start_checkout(order=order, request=request))
    except GatewayError:
        logger.exception("Checkout could not be started for %s", order.reference)
        messages.error(request, GATEWAY_DOWN)
        return redirect("order-detail", order_id=order.pk)
