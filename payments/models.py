from django.db import models

from production.models import ProductionOrder


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
    outcome = models.CharField(max_length=20, choices=Outcome)
    detail = models.TextField(blank=True)
    livemode = models.BooleanField(default=False)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["outcome", "-received_at"], name="payevent_outcome_time")]

    def __str__(self) -> str:
        return f"{self.event_id} ({self.event_type}): {self.outcome}"
