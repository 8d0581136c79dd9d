"""The ops dashboard: thin views over the ops selectors, the shared FilterSet and the services."""

from __future__ import annotations

from uuid import UUID, uuid4

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import UserPassesTestMixin
from django.forms import Form
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views import View
from django.views.generic import TemplateView

from ops import exports
from ops.address_forms import AddressForm
from ops.forms import (
    BULK_CHOICES,
    BulkUpdateForm,
    CorrectionForm,
    OrderActionForm,
    RefundForm,
    ShipmentForm,
    filter_params,
)
from ops.selectors import (
    color_choices,
    export_orders,
    get_ops_order,
    list_url,
    matching_up_to,
    options_html,
    order_list_counts,
    order_list_page,
    placement_designs,
    remaining_by_line,
)
from ops.services import BULK_FIELDS, BulkResult, bulk_update_orders
from payments.refunds import request_refund
from payments.selectors import refund_summary
from production.accounts.access import is_operator
from production.exceptions import OrderError
from production.lifecycle import (
    STATUS_FIELD,
    STEP_FIELD,
    Actor,
    EventSource,
    Offer,
    OrderFacts,
    OrderState,
    Priority,
    ProductionStatus,
    address_correction_refusal,
    correction_refusal,
    offered_moves,
    operator_words,
    parcel_refusal,
    pickup_notice_refusal,
    pickup_refusal,
    priority_refusal,
    proof_refusal,
    ship_refusal,
)
from production.models import ArtworkProof, ProductionOrder
from production.plumbing.db_retry import mark_rerun_safe, rerun_safe
from production.pricing import format_money
from production.proof_files import proof_history
from production.services.messages import add_customer_message, add_order_note
from production.services.orders import order_address, update_order
from production.services.shipping import address_check
from production.sorting import SORTS

MAX_LISTED_FAILURES = 50
SORT_CHOICES = [(key, sort.label) for key, sort in SORTS.items()]
NO_PICKUP = "Local pickup is not set up: the shop's PICKUP_ADDRESS setting is empty."


class OperatorRequiredMixin(UserPassesTestMixin):
    """The spec's requireOperatorAccess: anonymous users log in, other users get a 403 page."""

    def test_func(self) -> bool:
        return is_operator(self.request.user)


class OrderListView(OperatorRequiredMixin, TemplateView):
    template_name = "ops/order_list.html"
    extra_context = {
        # The same for every request: built once.
        "bulk_options": mark_safe(  # noqa: S308 (escaped here)
            "".join(
                f'<optgroup label="{escape(group)}">'
                + options_html((value, f"{group} → {label}") for value, label in options)
                + "</optgroup>"
                for group, options in BULK_CHOICES
            )
        ),
        "labels": {  # for static/js/ops.js, which relabels rows pushed over the socket
            "status": dict(OrderState.choices),
            "priority": {str(label): str(label) for label in Priority.labels},
        },
    }

    def get_context_data(self, **kwargs: object) -> dict:
        listing = order_list_page(self.request.GET)
        filters = listing.filters
        color = self.request.GET.get("color", "")
        colors = color_choices(color)
        chosen = next((name for name in colors if name.lower() == color.strip().lower()), "")
        return super().get_context_data(
            **kwargs,
            **vars(listing),
            ticket_limit=settings.TICKET_BATCH_LIMIT,
            options={
                "color": options_html(((name, name) for name in colors), chosen),
                "production_status": options_html(
                    ProductionStatus.choices, filters.get("productionStatus", "")
                ),
                "priority": options_html(Priority.choices, filters.get("priority", "")),
                "sort": options_html(SORT_CHOICES, listing.sort_key),
            },
        )


class OrderCountsView(OperatorRequiredMixin, View):
    """The list's tab counts and "N matching" for its query string, as JSON (live refresh)."""

    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse(order_list_counts(request.GET))


# One field set to one value, an order per transaction: a re-run leaves those done alone.
@rerun_safe
class BulkUpdateView(OperatorRequiredMixin, View):
    """Apply one change to the selected orders, or to every order the filter matches."""

    def post(self, request: HttpRequest) -> HttpResponse:
        form = BulkUpdateForm(request.POST)
        if not form.is_valid():
            return back_to_list(request, form, "Choose a change to apply.")
        data = form.cleaned_data
        filters = data["filter_query"]
        if data["scope"] == "selected":
            ids = data["ids"]
        else:
            limit = settings.OPS_BULK_LIMIT
            matching, count = matching_up_to(filters, limit)
            if count > limit:
                messages.error(
                    request,
                    f"More than {limit:,} orders match: bulk changes are limited to "
                    f"{limit:,} at a time. Narrow the filter first.",
                )
                return redirect(list_url(filters))
            if not data.get("confirmed") or data.get("expected") != count:
                return render(
                    request,
                    "ops/bulk_confirm.html",
                    {
                        "count": count,
                        "changed_count": data.get("confirmed") and data.get("expected") != count,
                        "expected": data.get("expected"),
                        "change": data["change"],
                        "change_label": _change_label(data["change"]),
                        "filters": filters.urlencode(),
                        "filter_summary": _filter_summary(filters),
                        "back": list_url(filters),
                    },
                )
            ids = list(matching.values_list("pk", flat=True))
        result = bulk_update_orders(
            order_ids=ids, actor=request.user, field_name=data["field_name"], value=data["value"]
        )
        _report(request, result, _change_label(data["change"]))
        return redirect(list_url(filters))


def back_to_list(request: HttpRequest, form: Form, fallback: str) -> HttpResponse:
    """A form posted from the list that is not valid: its errors (or `fallback`) shown on the list
    it came from, with that list's filters."""
    for error in form.errors.get("__all__", []) or [fallback]:
        messages.error(request, error)
    return redirect(list_url(filter_params(QueryDict(request.POST.get("filters", "")))))


def _change_label(change: str) -> str:
    for group, options in BULK_CHOICES:
        for value, label in options:
            if value == change:
                return f"{group.lower()} → {label}"
    return change


def _filter_summary(filters: QueryDict) -> str:
    parts = [f"{name} = {', '.join(filters.getlist(name))}" for name in filters if name != "sort"]
    return "; ".join(parts) or "no filter (every order)"


def _report(request: HttpRequest, result: BulkResult, change: str) -> None:
    """The outcome, shown once on the page the redirect lands on."""
    if result.changed:
        n = len(result.changed)
        messages.success(request, f"Updated {n} order{'s' if n != 1 else ''}: {change}.")
    if result.unchanged:
        n = len(result.unchanged)
        messages.info(
            request,
            f"{n} order{'s' if n != 1 else ''} already had that value: "
            + ", ".join(result.unchanged[:MAX_LISTED_FAILURES])
            + (" …" if n > MAX_LISTED_FAILURES else ""),
        )
    if result.skipped:
        n = len(result.skipped)
        messages.error(request, f"Skipped {n} order{'s' if n != 1 else ''}:")
        for reason in result.skipped[:MAX_LISTED_FAILURES]:
            messages.error(request, reason)
        if n > MAX_LISTED_FAILURES:
            messages.error(request, f"… and {n - MAX_LISTED_FAILURES} more.")
    if not (result.changed or result.unchanged or result.skipped):
        messages.info(request, "No orders were changed.")


class OrderDetailView(OperatorRequiredMixin, View):
    def get(self, request: HttpRequest, order_id: UUID) -> HttpResponse:
        order = get_ops_order(order_id=order_id)
        if order is None:
            raise Http404("No such order")
        return render_order_detail(request, order)


def render_order_detail(
    request: HttpRequest,
    order: ProductionOrder,
    *,
    shipment_form: ShipmentForm | None = None,
    correction: tuple[int, CorrectionForm] | None = None,
    address_form: AddressForm | None = None,
    refund_form: RefundForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The ops order page; with a bound form whose errors it shows (nothing was changed)."""
    facts = OrderFacts.of(order)
    offers = offered_moves(facts, Actor.OPERATOR)
    states = [o for o in offers if o.field == STATUS_FIELD]
    moves = [
        {"value": o.to.value, "label": o.label, "refusal": o.refusal, "final": o.final}
        for o in states
    ]
    # The way forward is the prominent button; canceling stays secondary.
    forward = next((m for m, o in zip(moves, states, strict=True) if o.forward), None)
    step = next((o for o in offers if o.field == STEP_FIELD), None)
    proofs = list(proof_history(order_id=order.pk))
    remaining = remaining_by_line(order)
    shipments = list(order.shipments.all())
    for shipment in shipments:
        bound = correction and correction[0] == shipment.pk
        shipment.correction_form = (
            correction[1]
            if bound
            else CorrectionForm(
                initial={
                    "carrier": shipment.carrier,
                    "tracking_number": shipment.tracking_number,
                    "tracking_url": shipment.tracking_url if shipment.carrier == "other" else "",
                },
                prefix=f"fix-{shipment.pk}",
            )
        )
        shipment.correction_open = bool(bound)
    ship_refused = ship_refusal(facts, actor=Actor.OPERATOR)
    ship_to = order_address(order)
    # The customer asked for changes to the last proof: the shop owes them the next one.
    latest = proofs[-1] if proofs else None
    change_request = (
        latest
        if latest is not None
        and order.status == OrderState.SUBMITTED
        and not facts.proof_waiting
        and latest.state == ArtworkProof.State.CHANGES_REQUESTED
        else None
    )
    status_words, next_words = operator_words(
        facts,
        delivery=order.delivery,
        changes_requested=change_request is not None,
        pickup_told=order.pickup_ready_at is not None,
        total_quantity=order.total_quantity,
        next_proof=len(proofs) + 1,
    )
    parcel_refused = parcel_refusal(
        facts, actor=Actor.OPERATOR, delivery=order.delivery, has_address=ship_to is not None
    )
    return render(
        request,
        "ops/order_detail.html",
        {
            "order": order,
            "designs": placement_designs(order),
            "transitions": moves,
            "forward": forward,
            "next_step": step and step.to,
            "next_step_label": step.label if step else "",
            "next_step_refusal": step and step.refusal,
            "priority_refusal": priority_refusal(facts),
            "priorities": Priority.choices,
            "held": order.priority == Priority.HOLD,
            "proofs": proofs,
            "proof_refusal": proof_refusal(facts, actor=Actor.OPERATOR),
            "waiting_proof": next((p for p in proofs if p.revision == facts.proof_waiting), None),
            "proof_max_bytes": settings.PROOF_MAX_BYTES,
            "change_request": change_request,
            "status_words": status_words,
            "next_words": next_words,
            "shipments": shipments,
            "ship_refusal": ship_refused,
            "shipment_form": shipment_form or ShipmentForm(remaining=remaining),
            "ship_to": ship_to,
            "parcel_refusal": parcel_refused,
            "address_refusal": address_correction_refusal(
                facts, actor=Actor.OPERATOR, delivery=order.delivery
            ),
            "address_form": address_form or AddressForm.for_address(ship_to),
            "address_check": address_check(order),
            "pickup_refusal": pickup_refusal(facts, actor=Actor.OPERATOR, delivery=order.delivery)
            or (None if settings.PICKUP_ADDRESS else NO_PICKUP),
            "pickup_notice_refusal": pickup_notice_refusal(
                facts, actor=Actor.OPERATOR, told_at=order.pickup_ready_at, delivery=order.delivery
            ),
            "correction_refusal": correction_refusal(facts, actor=Actor.OPERATOR),
            "pickup_address": settings.PICKUP_ADDRESS,
            "pickup_hours": settings.PICKUP_HOURS,
            "money": refund_summary(order=order),
            "refund_token": uuid4(),
            "refund_form": refund_form,
            "note_token": uuid4(),
            "message_token": uuid4(),
        },
        status=status,
    )


class RefundRequestView(OperatorRequiredMixin, View):
    """An operator refunds part (or all) of what an order's customer paid."""

    def post(self, request: HttpRequest, order_id: UUID) -> HttpResponse:
        order = (
            ProductionOrder.objects.filter(pk=order_id).only("id", "reference", "currency").first()
        )
        if order is None:
            raise Http404("No such order")
        back = reverse("ops:order-detail", args=[order.pk])
        summary = refund_summary(order=order)
        form = RefundForm(request.POST, currency=summary.currency)
        if form.is_valid() and form.cleaned_data["amount"] > summary.refundable:
            form.add_error(
                "amount",
                f"At most {format_money(summary.refundable, summary.currency)} can be refunded.",
            )
        if not form.is_valid():
            # The page again, with what was typed and the error next to its field.
            return self.again(request, order, form)
        if request.POST.get("confirmed") != "1":
            # Money leaves for good: say how much, and ask.
            return render(
                request,
                "ops/confirm_refund.html",
                {
                    "order": order,
                    "form": form,
                    "amount": format_money(form.cleaned_data["amount"], summary.currency),
                },
            )
        try:
            refund = request_refund(
                order=order.pk,
                amount=form.cleaned_data["amount"],
                actor=request.user,
                note=form.cleaned_data["note"],
                request_key=str(form.cleaned_data["token"]),
            )
        except OrderError as error:
            form.add_error("amount" if error.field == "amount" else None, error.message)
            return self.again(request, order, form)
        messages.success(
            request,
            f"Refund of {format_money(refund.amount, refund.currency)} requested: "
            "Stripe's answer shows below within a minute.",
        )
        return HttpResponseRedirect(back)

    def again(self, request: HttpRequest, order: ProductionOrder, form: RefundForm) -> HttpResponse:
        full = get_ops_order(order_id=order.pk)
        if full is None:
            raise Http404("No such order")
        return render_order_detail(request, full, refund_form=form, status=400)


class OrderActionView(OperatorRequiredMixin, View):
    def post(self, request: HttpRequest, order_id: UUID) -> HttpResponse:
        order = (
            ProductionOrder.objects.filter(pk=order_id)
            .only(
                "id",
                "reference",
                "status",
                "production_status",
                "priority",
                "waiting_proof_revision",
                "shipped_quantity",
            )
            .first()
        )
        if order is None:
            raise Http404("No such order")
        back = reverse("ops:order-detail", args=[order.pk])
        form = OrderActionForm(request.POST)
        if not form.is_valid():
            for error in form.errors.get("__all__", []) or ["That action is not available."]:
                messages.error(request, error)
            return HttpResponseRedirect(back)
        action, value, body = (form.cleaned_data[k] for k in ("action", "value", "body"))
        token = form.cleaned_data["token"]
        key = token.hex if token and action in ("note", "message") else ""
        if key:  # the form posted again, or this view run again, finds what it wrote
            mark_rerun_safe(request)
        try:
            if action == "note":
                add_order_note(order=order.pk, author=request.user, body=body, request_key=key)
                messages.success(request, "Internal note added.")
            elif action == "message":
                add_customer_message(
                    order=order.pk,
                    author=request.user,
                    body=body,
                    source=EventSource.OPERATOR,
                    request_key=key,
                )
                messages.success(request, "Message posted to the customer's timeline.")
            else:
                attribute, choices = BULK_FIELDS[action]
                move = _offered(order, value) if action == "status" else None
                if move is not None and move.final and not form.cleaned_data["confirmed"]:
                    # Cannot be undone: ask first (a page, so it works without JavaScript).
                    context = {
                        "order": order,
                        "move": move,
                        "refund_money": refund_summary(order=order)
                        if move.to == OrderState.CANCELED
                        else None,
                        "needs_reason": move.needs_reason,
                    }
                    return render(request, "ops/confirm_action.html", context)
                update_order(
                    order=order.pk,
                    actor=request.user,
                    source=EventSource.OPERATOR,
                    note=body if action == "status" else "",
                    **{attribute: choices(value)},
                )
                messages.success(request, f"{order.reference}: {choices(value).label}.")
        except OrderError as error:
            messages.error(request, error.message)
        return HttpResponseRedirect(back)


def _offered(order: ProductionOrder, value: str) -> Offer | None:
    """The state move to `value` the order page offers an operator for this order, if any."""
    offers = offered_moves(OrderFacts.of(order), Actor.OPERATOR)
    return next((o for o in offers if o.field == STATUS_FIELD and o.to == value), None)


class OrderExportView(OperatorRequiredMixin, View):
    """The filtered list as CSV, streamed so a shop's whole history never sits in memory."""

    def get(self, request: HttpRequest) -> StreamingHttpResponse:
        response = StreamingHttpResponse(
            exports.csv_lines(export_orders(request.GET)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="orders.csv"'
        return response
