"""Customer pages: my orders and the live order page (static/js/order-live.js keeps it current)."""

from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from production.accounts.access import can_view_order
from production.exceptions import OrderError, ProofConflict
from production.lifecycle import (
    CUSTOMER_WORDS,
    Delivery,
    OrderState,
    customer_canceled_text,
    customer_eta_text,
    customer_hold_text,
    customer_progress,
    customer_stage_text,
    proof_answer_refusal,
    shipped_text,
)
from production.models import ArtworkProof, ProductionOrder
from production.pages.pictures import own_static_path
from production.plumbing.request_limits import wants_json
from production.selectors import get_order_detail, orders_owned_by
from production.services.orders import order_address
from production.services.proofs import ProofDecision, answer_proof

ORDERS_PER_PAGE = 20

CHECKOUT_NOTE_STATES = frozenset({OrderState.DRAFT, OrderState.SUBMITTED})

# A proof's state, as its customer reads it.
PROOF_STATE_LABELS: dict[str, str] = {
    ArtworkProof.State.WAITING: "Waiting for your answer",
    ArtworkProof.State.APPROVED: "Approved",
    ArtworkProof.State.CHANGES_REQUESTED: "Changes requested",
    ArtworkProof.State.SUPERSEDED: "Replaced by a newer revision",
    ArtworkProof.State.WITHDRAWN: "Withdrawn",
}


@login_required
def my_orders(request: HttpRequest) -> HttpResponse:
    page = Paginator(orders_owned_by(request.user), ORDERS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    orders = list(page.object_list)
    for order in orders:
        describe(order)
        # The front design's picture: this site's own files only; a customer's URL is never put in
        # an <img> (the page shows a neutral placeholder).
        order.thumbnail_url = own_static_path(order.design_url)
    return render(request, "production/order_list.html", {"page": page, "orders": orders})


def describe(order: ProductionOrder) -> ProductionOrder:
    """The customer's words for the order (the rulebook's): one status line, the hold, and the
    estimate ("Ready by Tue 15 Dec", none once ready)."""
    order.stage_text = customer_stage_text(order)
    order.hold_text = customer_hold_text(order)
    order.eta_text = customer_eta_text(order)
    return order


@login_required
def order_detail(request: HttpRequest, order_id: UUID) -> HttpResponse:
    order = get_order_detail(order_id=order_id)
    if order is None:
        raise Http404("No such order")
    if not can_view_order(request.user, order):
        raise PermissionDenied
    proofs = list(order.proofs.all())
    for proof in proofs:
        proof.state_label = PROOF_STATE_LABELS[proof.state]
    waiting = order.waiting_proof_revision
    describe(order)
    # The timeline reads newest first, each line what happened (the stage is the status line's).
    events = list(reversed(order.events.all()))
    checkout = request.GET.get("checkout", "")
    shipments = list(order.shipments.all())
    return render(
        request,
        "production/order_detail.html",
        {
            "order": order,
            "events": events,
            "stages": customer_progress(order),
            "canceled_text": customer_canceled_text(order),
            "canceled": order.status == OrderState.CANCELED,
            # The thank-you belongs to the return from checkout while the payment is being
            # confirmed (or was just confirmed): a bookmarked ?checkout=success link must not
            # thank again once the order has moved on.
            "checkout": checkout if order.status in CHECKOUT_NOTE_STATES else "",
            "proofs": proofs,
            "shipments": shipments,
            "shipped_text": shipped_text(order),
            "pickup_waiting": order.pickup_ready_at is not None
            and order.status == OrderState.IN_PRODUCTION,
            "pickup_address": settings.PICKUP_ADDRESS,
            "pickup_hours": settings.PICKUP_HOURS,
            # Where it ships: the whole address to its owner; name, city, region and country to
            # the operators who also see this page.
            "ship_to": order_address(order) if order.delivery == Delivery.SHIPPING else None,
            "full_address": request.user.pk == order.owner_id,
            "waiting_proof": next((p for p in proofs if p.revision == waiting), None),
            "earlier_proofs": [p for p in proofs if p.revision != waiting],
            # Labels for the page's script, so live updates read like the server-rendered page.
            "proof_state_labels": {str(k): v for k, v in PROOF_STATE_LABELS.items()},
            "customer_words": {str(k): v for k, v in CUSTOMER_WORDS.items()},
        },
    )


@login_required
@require_POST
def decide_proof(request: HttpRequest, order_id: UUID, revision: int) -> HttpResponse:
    """The owner's Approve / Request changes buttons (plain forms; the live page's script posts
    them in the background and gets JSON). Operators record phone decisions on the ops page."""
    order = ProductionOrder.objects.only("id", "owner_id").filter(pk=order_id).first()
    if order is None:
        raise Http404("No such order")
    if proof_answer_refusal(by_phone=False, owner=order.owner_id == request.user.pk):
        raise PermissionDenied
    back = reverse("order-detail", args=[order.pk])
    decision = request.POST.get("decision", "")
    try:
        answer_proof(
            order=order.pk,
            revision=revision,
            answer=request.POST,
            actor=request.user,
            via=ArtworkProof.Via.CUSTOMER,
        )
    except OrderError as error:
        if wants_json(request):
            code = 409 if isinstance(error, ProofConflict) else 400
            return JsonResponse({"error": error.message}, status=code)
        messages.error(request, error.message)
        return HttpResponseRedirect(back)
    done = (
        f"Thank you: proof {revision} approved, production can start."
        if decision == ProofDecision.APPROVE
        else f"Thank you: your changes to proof {revision} were sent to the print shop."
    )
    if wants_json(request):
        return JsonResponse({"message": done})
    messages.success(request, done)
    return HttpResponseRedirect(back)
