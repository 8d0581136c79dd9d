"""Support staff read the payment event log, payments and refunds here (all read-only)."""

from django.contrib import admin

from payments.models import Payment, ProcessedEvent, Refund
from production.admin import ReadOnlyAdmin, ReadOnlyInline
from production.pricing import format_money


@admin.register(ProcessedEvent)
class ProcessedEventAdmin(ReadOnlyAdmin):
    """The webhook's log: written only by it (an edited row would break idempotency)."""

    list_display = ("event_id", "event_type", "outcome", "order", "received_at", "livemode")
    list_filter = ("outcome", "event_type", "livemode")
    search_fields = ("event_id", "checkout_session_id", "object_id", "order__reference")
    list_select_related = ("order",)
    readonly_fields = [f.name for f in ProcessedEvent._meta.fields]


class PaymentInline(ReadOnlyInline):
    """On the order's admin page (settings.ORDER_ADMIN_INLINES): what Stripe took."""

    model = Payment
    fields = readonly_fields = (
        "created_at",
        "amount_paid",
        "payment_intent_id",
        "checkout_session_id",
        "livemode",
    )

    @admin.display(description="Amount")
    def amount_paid(self, payment: Payment) -> str:
        return format_money(payment.amount, payment.currency)


class RefundInline(ReadOnlyInline):
    """On the order's admin page: every refund, its state and why it failed."""

    model = Refund
    fk_name = "order"
    fields = readonly_fields = (
        "created_at",
        "amount_refunded",
        "state",
        "reason",
        "requested_by",
        "stripe_refund_id",
        "failure_reason",
        "settled_at",
    )

    @admin.display(description="Amount")
    def amount_refunded(self, refund: Refund) -> str:
        return format_money(refund.amount, refund.currency)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    """Support's list of refunds: filter by state to find the failed ones. Read-only: refunds are
    asked for on the ops order page (or by canceling the order) and settled by Stripe."""

    list_display = (
        "created_at",
        "order",
        "amount_refunded",
        "state",
        "reason",
        "failure_reason",
        "stripe_refund_id",
        "settled_at",
    )
    list_filter = ("state", "reason")
    search_fields = ("order__reference", "stripe_refund_id", "payment__payment_intent_id")
    list_select_related = ("order",)
    # The amount as money (its currency in it), where the raw minor units and code would be.
    fields = readonly_fields = [
        "amount_refunded" if f.name == "amount" else f.name
        for f in Refund._meta.fields
        if f.name != "currency"
    ]
    date_hierarchy = "created_at"

    @admin.display(description="Amount")
    def amount_refunded(self, refund: Refund) -> str:
        return format_money(refund.amount, refund.currency)
