"""Shipments and local pickup on the ops order page: record a parcel, correct its tracking, tell
the customer it is ready for pickup, record the pickup. A refusal re-renders the page with the
form and its errors (400); nothing was changed."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views import View

from ops.address_forms import AddressForm
from ops.forms import CorrectionForm, ShipmentForm, add_service_error
from ops.packing_slips import render_packing_slip
from ops.selectors import get_ops_order, remaining_by_line
from ops.views.orders import OperatorRequiredMixin, render_order_detail
from production.exceptions import InvalidOrder, OrderError
from production.lifecycle import EventSource
from production.models import ProductionOrder, Shipment, ShipmentItem
from production.services.shipping import (
    ShipLine,
    announce_pickup,
    correct_shipment,
    correct_shipping_address,
    record_pickup,
    record_shipment,
)


def _order(order_id: UUID) -> ProductionOrder:
    order = get_ops_order(order_id=order_id)
    if order is None:
        raise Http404("No such order")
    return order


class ShipmentCreateView(OperatorRequiredMixin, View):
    def post(self, request: HttpRequest, order_id: UUID) -> HttpResponse:
        order = _order(order_id)
        form = ShipmentForm(request.POST, remaining=remaining_by_line(order))
        if form.is_valid():
            data = form.cleaned_data
            try:
                shipment = record_shipment(
                    order=order.pk,
                    carrier=data["carrier"],
                    tracking_number=data["tracking_number"],
                    tracking_url=data["tracking_url"],
                    items=[ShipLine(line, qty) for line, qty in form.ship_lines()],
                    shipped_on=data["shipped_on"],
                    actor=request.user,
                    source=EventSource.OPERATOR,
                )
            except OrderError as error:
                add_service_error(form, error)
            else:
                count = sum(item.quantity for item in shipment.items.all())
                items = f"{count} item{'s' if count != 1 else ''}"
                messages.success(
                    request,
                    f"{order.reference}: shipment recorded ({items}, {shipment}); "
                    "the customer is e-mailed the tracking link.",
                )
                return HttpResponseRedirect(reverse("ops:order-detail", args=[order.pk]))
        return render_order_detail(request, _order(order_id), shipment_form=form, status=400)


class ShipmentCorrectView(OperatorRequiredMixin, View):
    def post(self, request: HttpRequest, order_id: UUID, shipment_id: int) -> HttpResponse:
        order = _order(order_id)
        form = CorrectionForm(request.POST, prefix=f"fix-{shipment_id}")
        if form.is_valid():
            data = form.cleaned_data
            try:
                shipment = correct_shipment(
                    order=order.pk,
                    shipment_id=shipment_id,
                    carrier=data["carrier"],
                    tracking_number=data["tracking_number"],
                    tracking_url=data["tracking_url"],
                    note=data["note"],
                    actor=request.user,
                    source=EventSource.OPERATOR,
                )
            except OrderError as error:
                add_service_error(form, error)
            else:
                messages.success(request, f"{order.reference}: tracking corrected to {shipment}.")
                return HttpResponseRedirect(reverse("ops:order-detail", args=[order.pk]))
        return render_order_detail(
            request, _order(order_id), correction=(shipment_id, form), status=400
        )


class PickupView(OperatorRequiredMixin, View):
    """`action=ready`: tell the customer it waits at the shop; `action=picked_up`: they took it."""

    def post(self, request: HttpRequest, order_id: UUID) -> HttpResponse:
        order = ProductionOrder.objects.only("id", "reference").filter(pk=order_id).first()
        if order is None:
            raise Http404("No such order")
        action = request.POST.get("action", "")
        try:
            if action == "ready":
                announce_pickup(order=order.pk, actor=request.user)
                messages.success(
                    request, f"{order.reference}: the customer is told it is ready for pickup."
                )
            elif action == "picked_up":
                record_pickup(order=order.pk, actor=request.user)
                messages.success(request, f"{order.reference}: picked up; the order is fulfilled.")
            else:
                messages.error(request, "That pickup action is not available.")
        except OrderError as error:
            messages.error(request, error.message)
        return HttpResponseRedirect(reverse("ops:order-detail", args=[order.pk]))


class AddressCorrectView(OperatorRequiredMixin, View):
    """Correct the ship-to address (or add the one an old order lacks) until the first parcel
    leaves; the customer is e-mailed the new address."""

    def post(self, request: HttpRequest, order_id: UUID) -> HttpResponse:
        order = _order(order_id)
        form = AddressForm(request.POST, prefix="address")
        if form.is_valid():
            try:
                correct_shipping_address(
                    order=order.pk,
                    address=form.as_api(),
                    note=form.cleaned_data["note"],
                    actor=request.user,
                    source=EventSource.OPERATOR,
                )
            except InvalidOrder as error:
                form.add_service_errors(error.details)
            except OrderError as error:
                # A refusal (a parcel has left): the page no longer offers the form, so say it
                # above the page.
                messages.error(request, error.message)
                form.add_error(None, error.message)
            else:
                messages.success(
                    request,
                    f"{order.reference}: delivery address saved; the customer is e-mailed it.",
                )
                return HttpResponseRedirect(reverse("ops:order-detail", args=[order.pk]))
        return render_order_detail(request, _order(order_id), address_form=form, status=400)


class PackingSlipView(OperatorRequiredMixin, View):
    """A shipment's packing slip PDF: the address, the parcel's items, the order's barcode."""

    def get(self, request: HttpRequest, order_id: UUID, shipment_id: int) -> HttpResponse:
        shipment = (
            Shipment.objects.select_related("order", "order__garment", "order__shipping_address")
            .prefetch_related(
                Prefetch(
                    "items",
                    queryset=ShipmentItem.objects.select_related("line_item__color").order_by(
                        "line_item_id"
                    ),
                )
            )
            .filter(pk=shipment_id, order_id=order_id)
            .first()
        )
        if shipment is None:
            raise Http404("No such shipment")
        response = HttpResponse(render_packing_slip(shipment), content_type="application/pdf")
        filename = f"packing-slip-{shipment.order.reference}-{shipment.pk}.pdf"
        response["Content-Disposition"] = f'inline; filename="{filename}"'
        response["X-Content-Type-Options"] = "nosniff"
        return response
