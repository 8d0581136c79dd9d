"""Customer pages: my orders and the live order page (static/js/order-live.js keeps it current)."""

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from production.access import can_view_order
from production.lifecycle import STAGES, OrderState
from production.models import ProductionOrder
from production.selectors import get_order_detail, orders_owned_by

ORDERS_PER_PAGE = 20


@login_required
def my_orders(request: HttpRequest) -> HttpResponse:
    page = Paginator(orders_owned_by(request.user), ORDERS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "production/order_list.html", {"page": page, "orders": page})


@login_required
def order_detail(request: HttpRequest, order_id: UUID) -> HttpResponse:
    order = get_order_detail(order_id=order_id)
    if order is None:
        raise Http404("No such order")
    if not can_view_order(request.user, order):
        raise PermissionDenied
    return render(
        request,
        "production/order_detail.html",
        {
            "order": order,
            "stages": progress(order),
            "canceled": order.status == OrderState.CANCELED,
            "checkout": request.GET.get("checkout", ""),
            # Labels for the page's script, so live updates read like the server-rendered page.
            "state_labels": {str(value): str(label) for value, label in OrderState.choices},
        },
    )


def progress(order: ProductionOrder) -> list[dict[str, object]]:
    """The five stages of the progress bar, each done, current or still to come."""
    reached = STAGES.index(order.production_status)
    return [
        {"name": stage, "done": i < reached, "current": i == reached}
        for i, stage in enumerate(STAGES)
    ]
