import uuid

from django.conf import settings
from django.db import models

from production.models import ProductionOrder
from production.pricing import format_money


class ProcessedEvent(models.Model):
    """One row per Stripe event the webhook has acted on: the unique id makes delivery idempotent.

    Written in the same transaction as the order change the event caused, so an event is either
    fully processed and logged, or neither (and Stripe's retry processes it).
    """

    class Outcome(models.TextChoices):
        SUBMITTED = "submitted", "Order submitted"
        CANCELED = "canceled", "Draft canceled"
        AWAITING_PAYMENT = "awaiting_payment", "Checkout completed, payment pending"
        UNCHANGED = "unchanged", "Order already past this step"
        REFUND_NEEDED = "refund_needed", "Paid, but the order was canceled: refund needed"
        REFUSED = "refused", "Refused: amount or currency does not match the order"
        UNKNOWN_ORDER = "unknown_order", "No order for this checkout session"
        STALE_SESSION = "stale_session", "Not the order's current checkout session"
        REFUND_REQUESTED = "refund_requested", "Paid after cancel: full refund requested"
        REFUND_UPDATED = "refund_updated", "Refund state updated"
        REFUND_RECORDED = "refund_recorded", "Refund made outside this app recorded"
        UNKNOWN_PAYMENT = "unknown_payment", "No payment of this shop matches"
        REFUND_REFUSED = "refund_refused", "Refused: a refund its payment cannot have"
        OTHER_ACCOUNT = "other_account", "Ignored: another Stripe account or mode"

    event_id = models.CharField(max_length=255, unique=True)
    event_type = models.CharField(max_length=100)
    order = models.ForeignKey(
        ProductionOrder,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="payment_events",
    )
    checkout_session_id = models.CharField(max_length=255, blank=True)
    # The refund or charge an event is about (refund and charge events).
    object_id = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome)
    detail = models.TextField(blank=True)
    livemode = models.BooleanField(default=False)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["outcome", "-received_at"], name="payevent_outcome_time")]

    def __str__(self) -> str:
        return f"{self.event_id} ({self.event_type}): {self.outcome}"


class Payment(models.Model):
    """What Stripe took for an order: the payment intent, amount and currency of a paid Checkout
    Session. Written by the webhook in the transaction that logs the event; refunds are made
    against it, and their total never exceeds its amount (`payments.refunds`)."""

    order = models.ForeignKey(ProductionOrder, on_delete=models.PROTECT, related_name="payments")
    checkout_session_id = models.CharField(max_length=255, unique=True)
    # NULL only when Stripe sent none (the session of a free order): nothing to refund against.
    payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    amount = models.PositiveIntegerField(help_text="Paid, in minor units.")
    currency = models.CharField(max_length=3)
    stripe_event_id = models.CharField(max_length=255, blank=True)
    livemode = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return (
            f"{self.payment_intent_id or self.checkout_session_id} "
            f"({format_money(self.amount, self.currency)})"
        )


class Refund(models.Model):
    """Money sent back for a payment. The row is written (pending) in the transaction that asks for
    it; a task then asks Stripe, outside any transaction, with `idempotency_key`, so a retried task
    cannot refund twice. Stripe's answer and its refund events settle the state, which only moves
    forward (`payments.refunds.RANK`)."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    class Reason(models.TextChoices):
        ORDER_CANCELED = "order_canceled", "Paid order canceled"
        PAID_AFTER_CANCEL = "paid_after_cancel", "Paid after the order was canceled"
        OPERATOR = "operator", "Partial refund by an operator"
        EXTERNAL = "external", "Made outside this app (Stripe dashboard)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(ProductionOrder, on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.PositiveIntegerField(help_text="Refunded, in minor units.")
    currency = models.CharField(max_length=3)
    state = models.CharField(max_length=20, choices=State, default=State.PENDING)
    # Stripe's own status word (pending, requires_action, succeeded, failed, canceled).
    stripe_status = models.CharField(max_length=30, blank=True)
    stripe_refund_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    idempotency_key = models.CharField(max_length=255, unique=True, editable=False)
    reason = models.CharField(max_length=20, choices=Reason)
    note = models.TextField(blank=True, help_text="Why, in the operator's words.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    failure_reason = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Calls made to Stripe.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive")
        ]
        indexes = [
            # The admin's state filter, and reconcile_payments' "still pending after a while".
            models.Index(fields=["state", "created_at"], name="refund_state_created"),
        ]

    def __str__(self) -> str:
        return f"Refund of {format_money(self.amount, self.currency)}: {self.get_state_display()}"

    @property
    def is_settled(self) -> bool:
        return self.state != self.State.PENDING
