"""Support staff see the store's webhooks, store orders and fulfilments here; a store order
waiting for its catalogue is imported again, a failed fulfilment retried, through the services."""

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from production.admin import ReadOnlyAdmin, ReadOnlyInline
from shopify import services
from shopify.models import FulfilmentPush, StoreOrder, WebhookDelivery


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("webhook_id", "topic", "outcome", "received_at", "processed_at")
    list_filter = ("outcome", "topic")
    search_fields = ("webhook_id",)
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]


class FulfilmentPushInline(ReadOnlyInline):
    """On the order's admin page (settings.ORDER_ADMIN_INLINES): its parcels sent to the store."""

    model = FulfilmentPush
    fk_name = "order"
    fields = readonly_fields = (
        "shipment",
        "store_order",
        "state",
        "attempts",
        "last_error",
        "fulfillment_gid",
        "retry",
    )
    verbose_name = "fulfilment sent to the store"

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("store_order", "shipment")

    @admin.display(description="Retry")
    def retry(self, push: FulfilmentPush) -> str:
        if push.state != FulfilmentPush.State.FAILED:
            return "—"
        # The order's page is itself a form: the retry is an action of the fulfilments list.
        return format_html(
            '<a href="{}?state__exact=failed">Retry from the failed fulfilments</a>',
            reverse("admin:shopify_fulfilmentpush_changelist"),
        )


@admin.register(StoreOrder)
class StoreOrderAdmin(ReadOnlyAdmin):
    list_display = ("name", "state", "detail", "created_at")
    list_filter = ("state",)
    search_fields = ("name", "order_gid", "orders__reference")
    readonly_fields = ("name", "order_gid", "state", "detail", "production_orders", "payload")
    fields = readonly_fields
    actions = ["import_again"]

    @admin.display(description="Production orders")
    def production_orders(self, store: StoreOrder) -> str:
        return ", ".join(o.reference for o in store.orders.all()) or "—"

    @admin.action(description="Import again (after the catalogue has the variants)")
    def import_again(self, request: HttpRequest, queryset) -> None:
        for store in queryset:
            state, detail = services.import_again(store.pk)
            self.message_user(request, f"{store.name}: {StoreOrder.State(state).label}. {detail}")


@admin.register(FulfilmentPush)
class FulfilmentPushAdmin(ReadOnlyAdmin):
    list_display = ("shipment", "store_order", "state", "attempts", "last_error", "created_at")
    list_filter = ("state",)
    readonly_fields = [f.name for f in FulfilmentPush._meta.fields]
    actions = ["retry"]

    @admin.action(description="Retry sending to the store")
    def retry(self, request: HttpRequest, queryset) -> None:
        queued = sum(services.retry_fulfilment(push.pk) for push in queryset)
        self.message_user(request, f"{queued} fulfilment(s) queued again.")
