"""What the store app keeps of the shop's Shopify store: the webhook deliveries it received (each
acted on once), the store orders and the production orders made of them, each store line's
production line, the fulfilments it sends back, and each product's last known update."""

from django.db import models

from production.models import Garment, LineItem, ProductionOrder, Shipment


class WebhookDelivery(models.Model):
    """One row per webhook delivery received (`X-Shopify-Webhook-Id`, unique): a second delivery
    of the same webhook is a duplicate. Written with the task that acts on it, in one
    transaction; the task records its outcome here."""

    class Outcome(models.TextChoices):
        QUEUED = "queued", "Queued"
        IMPORTED = "imported", "Store order imported"
        HELD = "held", "Imported on hold"
        NOT_IMPORTED = "not_imported", "Not importable yet (see detail)"
        NO_PRINT_ITEMS = "no_print_items", "No print items: nothing to make"
        UNCHANGED = "unchanged", "Already done"
        CANCELED = "canceled", "Canceled"
        CANCEL_REFUSED = "cancel_refused", "Cancel refused: operators told"
        STALE = "stale", "Older than what is known: ignored"
        PRODUCT_SYNCED = "product_synced", "Product synced"
        PRODUCT_RETIRED = "product_retired", "Product retired"
        IGNORED = "ignored", "Topic not acted on"
        FAILED = "failed", "Failed: the store could not be read (see detail)"

    webhook_id = models.CharField(max_length=100, unique=True)
    topic = models.CharField(max_length=50)
    shop_domain = models.CharField(max_length=255, blank=True)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome, default=Outcome.QUEUED)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.topic} {self.webhook_id}: {self.outcome}"


class StoreOrder(models.Model):
    """A paid order of the store and what became of it. Its production orders (one per garment
    and set of designs) carry its name as their `external_reference`."""

    class State(models.TextChoices):
        IMPORTED = "imported", "In production"
        HELD = "held", "In production, on hold"
        NOT_IMPORTED = "not_imported", "Waiting: not importable yet"
        NO_PRINT_ITEMS = "no_print_items", "No print items"
        CANCELED = "canceled", "Canceled by the store"

    order_gid = models.CharField(max_length=100, unique=True)
    name = models.CharField(max_length=64, help_text='The store\'s name for it, e.g. "#1001".')
    shop_domain = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=20, choices=State)
    detail = models.TextField(blank=True, help_text="Why it waits or is held, in words.")
    store_updated_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField(help_text="The store's order as last received.")
    orders = models.ManyToManyField(ProductionOrder, related_name="store_orders", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class StoreLine(models.Model):
    """A line item of a store order and the production line made of it (none: not a print
    product, or not importable yet)."""

    store_order = models.ForeignKey(StoreOrder, on_delete=models.CASCADE, related_name="lines")
    line_item_gid = models.CharField(max_length=100)
    variant_gid = models.CharField(max_length=100, blank=True)
    quantity = models.PositiveIntegerField()
    line_item = models.OneToOneField(
        LineItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="store_line"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["store_order", "line_item_gid"], name="store_line_once")
        ]

    def __str__(self) -> str:
        return self.line_item_gid


class FulfilmentPush(models.Model):
    """A shipment of a store order on its way back to the store as a fulfilment (with its
    tracking), written in the shipment's transaction and sent by a task with retries. `sent`
    with a `fulfillment_gid` is the idempotency guard: it is never sent twice."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent to the store"
        FAILED = "failed", "Failed: an operator may retry"

    shipment = models.OneToOneField(
        Shipment, on_delete=models.CASCADE, related_name="fulfilment_push"
    )
    order = models.ForeignKey(
        ProductionOrder, on_delete=models.CASCADE, related_name="fulfilment_pushes"
    )
    store_order = models.ForeignKey(
        StoreOrder, on_delete=models.CASCADE, related_name="fulfilment_pushes"
    )
    state = models.CharField(max_length=10, choices=State, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    fulfillment_gid = models.CharField(max_length=100, blank=True)
    # The tracking the store has (carrier, number, link): a correction differing from it is sent.
    tracking_sent = models.CharField(max_length=2500, blank=True)
    # Set while a worker sends it (a claim; a claim older than the lease is a worker gone).
    sending_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.store_order} {self.shipment}: {self.state}"


class ProductSync(models.Model):
    """The store product a garment comes from and its `updatedAt` last applied: an update older
    than it (webhooks arrive out of order) is ignored."""

    garment = models.OneToOneField(Garment, on_delete=models.CASCADE, related_name="store_product")
    product_gid = models.CharField(max_length=100, unique=True)
    store_updated_at = models.DateTimeField(null=True, blank=True)
    deleted = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.product_gid
