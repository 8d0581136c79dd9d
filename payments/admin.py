"""Support staff read the payment event log here (refunds needed, refused payments)."""

from django.contrib import admin
from django.http import HttpRequest

from payments.models import ProcessedEvent


@admin.register(ProcessedEvent)
class ProcessedEventAdmin(admin.ModelAdmin):
    list_display = ("event_id", "event_type", "outcome", "order", "received_at", "livemode")
    list_filter = ("outcome", "event_type", "livemode")
    search_fields = ("event_id", "checkout_session_id", "order__reference")
    list_select_related = ("order",)
    readonly_fields = [f.name for f in ProcessedEvent._meta.fields]

    # The log is written only by the webhook: an edited row would break idempotency.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
