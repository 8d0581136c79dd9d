"""Customer pages: the order page (live updates and the order list come with the realtime issue)."""

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from production.access import can_view_order
from production.lifecycle import STAGES, OrderState
from production.selectors import get_order_detail


@login_required
def order_detail(request: HttpRequest, order_id: UUID) -> HttpResponse:
    order = get_order_detail(order_id=order_id)
    if order is None:
        raise Http404("No such order")
    if not can_view_order(request.user, order):
        raise PermissionDenied
    reached = STAGES.index(order.production_status)
    stages = [
        {"name": stage, "done": i < reached, "current": i == reached}
        for i, stage in enumerate(STAGES)
    ]
    return render(
        request,
        "production/order_detail.html",
        {
            "order": order,
            "stages": stages,
            "canceled": order.status == OrderState.CANCELED,
            "checkout": request.GET.get("checkout", ""),
        },
    )
