"""`{% store_panel order %}`: on the ops order page, the store order it came from and each
parcel's fulfilment sent back to the store (a failed one with its error and a retry button)."""

from django import template

from production.models import ProductionOrder
from shopify.models import FulfilmentPush, StoreOrder

register = template.Library()


@register.inclusion_tag("shopify/_store_panel.html", takes_context=True)
def store_panel(context: template.Context, order: ProductionOrder) -> dict:
    store = StoreOrder.objects.filter(orders=order).first() if order.external_reference else None
    pushes = []
    if store is not None:
        pushes = list(
            FulfilmentPush.objects.filter(order=order).select_related("shipment").order_by("pk")
        )
    return {
        "store": store,
        "pushes": pushes,
        "order": order,
        "csrf_token": context.get("csrf_token"),
    }
