import uuid
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from production.lifecycle import (
    FINAL_STATES,
    OPEN_STATES,
    Delivery,
    EventSource,
    OrderState,
    Priority,
    ProductionStatus,
    eta_days,
)
from production.sorting import ETA_KEY, PRIORITY_RANK
from production.tracking import Carrier


class Technique(models.TextChoices):
    DTG = "dtg", "Direct to garment"
    SCREEN = "screen", "Screen print"
    EMBROIDERY = "embroidery", "Embroidery"


# An order's techniques as a bit set (`ProductionOrder.technique_bits`): a bit per technique, in the
# order they are declared above (append new techniques at the end: stored bits keep their meaning).
TECHNIQUE_BITS: dict[str, int] = {value: 1 << i for i, value in enumerate(Technique.values)}


def technique_bits(techniques: Iterable[str]) -> int:
    """The bit set of these techniques (unknown ones have no bit)."""
    bits = 0
    for technique in techniques:
        bits |= TECHNIQUE_BITS.get(technique, 0)
    return bits


def techniques_of(bits: int) -> list[str]:
    """The techniques in a bit set, in their declared order."""
    return [technique for technique, bit in TECHNIQUE_BITS.items() if bits & bit]


def bit_sets_with(technique: str) -> list[int]:
    """Every bit set holding `technique`: `technique_bits__in=` them is a plain, indexable IN."""
    bit = TECHNIQUE_BITS[technique]
    return [bits for bits in range(1, 1 << len(TECHNIQUE_BITS)) if bits & bit]


class Garment(models.Model):
    """A blank garment from the Shopify catalogue that designs are printed on."""

    shopify_gid = models.CharField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    sizes = models.JSONField(
        default=list, help_text='Offered sizes in display order, e.g. ["S", "M"].'
    )
    base_price = models.PositiveIntegerField(help_text="Unit price in minor units (cents).")
    currency = models.CharField(max_length=3, default="usd")
    size_upcharges = models.JSONField(
        default=dict,
        blank=True,
        help_text='Extra per unit by size in minor units, e.g. {"XXL": 200}.',
    )
    techniques = models.JSONField(default=list, blank=True)
    image_url = models.URLField(max_length=2048, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def image_url_or_none(self) -> str | None:
        return self.image_url or None

    def unit_price(self, size: str) -> int:
        return self.base_price + int(self.size_upcharges.get(size, 0))


class GarmentColor(models.Model):
    """A colour a garment is offered in. Each garment has exactly one default colour (the one a
    line item without a colour gets); the services and the admin keep it so."""

    garment = models.ForeignKey(Garment, on_delete=models.CASCADE, related_name="colors")
    name = models.CharField(max_length=50, help_text="As customers read it, e.g. Black.")
    hex = models.CharField(
        max_length=7,
        default="#ffffff",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "A swatch like #111111.")],
        help_text="Swatch colour, #rrggbb.",
    )
    position = models.PositiveSmallIntegerField(default=0)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["garment", "position", "id"]
        constraints = [
            # Customers name a colour case-insensitively: "black" is "Black".
            models.UniqueConstraint("garment", Lower("name"), name="color_name_per_garment"),
            models.UniqueConstraint(
                fields=["garment"],
                condition=models.Q(is_default=True),
                name="one_default_color_per_garment",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    """Garment × colour × size: what the shop stocks and sells, with its own SKU and upcharge."""

    garment = models.ForeignKey(Garment, on_delete=models.CASCADE, related_name="variants")
    color = models.ForeignKey(GarmentColor, on_delete=models.CASCADE, related_name="variants")
    size = models.CharField(max_length=20)
    sku = models.CharField(max_length=64, unique=True)
    shopify_variant_gid = models.CharField(
        max_length=100, blank=True, help_text="gid://shopify/ProductVariant/…, when known."
    )
    upcharge = models.PositiveIntegerField(
        default=0, help_text="Extra per unit over the garment's price, in minor units."
    )
    in_stock = models.BooleanField(default=True)

    class Meta:
        ordering = ["garment", "color__position", "color_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["color", "size"], name="variant_color_size"),
            models.UniqueConstraint(
                fields=["shopify_variant_gid"],
                condition=~models.Q(shopify_variant_gid=""),
                name="variant_shopify_gid_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.sku

    def clean(self) -> None:
        if self.color_id and self.garment_id and self.color.garment_id != self.garment_id:
            raise ValidationError({"color": "This colour belongs to another garment."})


class PlacementCode(models.TextChoices):
    FRONT = "front", "Front"
    BACK = "back", "Back"
    LEFT_SLEEVE = "left_sleeve", "Left sleeve"
    RIGHT_SLEEVE = "right_sleeve", "Right sleeve"
    NECK_LABEL = "neck_label", "Inside neck label"
    POCKET = "pocket", "Pocket"


# The placement codes as the API spells them (named once in the OpenAPI schema).
PLACEMENT_CODES: list[str] = PlacementCode.values


class Placement(models.Model):
    """Where on a garment a design can be printed, with its print area. The front is included in
    the garment's price; every other placement an order uses adds its `unit_amount` per item."""

    garment = models.ForeignKey(Garment, on_delete=models.CASCADE, related_name="placements")
    code = models.CharField(max_length=20, choices=PlacementCode)
    name = models.CharField(max_length=50)
    width_in = models.DecimalField(
        max_digits=5, decimal_places=2, validators=[MinValueValidator(0)]
    )
    height_in = models.DecimalField(
        max_digits=5, decimal_places=2, validators=[MinValueValidator(0)]
    )
    unit_amount = models.PositiveIntegerField(
        default=0, help_text="Price per item of printing here too, in minor units (front: 0)."
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["garment", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["garment", "code"], name="placement_code_per_garment")
        ]

    def __str__(self) -> str:
        return self.name


class ReferenceNumber(models.Model):
    """One row per issued order reference: the database's own sequence makes them race-free.

    Numbers consumed by a rolled-back order are simply skipped (the reference is gap-tolerant).
    """

    id = models.BigAutoField(primary_key=True)

    def __str__(self) -> str:
        return f"ORD-{self.id:06d}"


class ProductionOrder(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=20, unique=True, editable=False)
    # No index of its own: order_owner_created leads with it.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="production_orders",
        db_index=False,
    )
    status = models.CharField(max_length=20, choices=OrderState, default=OrderState.DRAFT)
    production_status = models.CharField(
        max_length=20, choices=ProductionStatus, default=ProductionStatus.SPEC_REVIEW
    )
    priority = models.CharField(max_length=10, choices=Priority, default=Priority.STANDARD)
    design_url = models.URLField(max_length=2048)
    # The spec: prompt and message are null when absent.
    prompt = models.TextField(null=True, blank=True)  # noqa: DJ001
    notes = models.TextField(blank=True, help_text="The customer's notes for the print shop.")
    garment = models.ForeignKey(Garment, on_delete=models.PROTECT, related_name="orders")
    subtotal_amount = models.PositiveIntegerField(default=0)
    rush_surcharge_amount = models.PositiveIntegerField(default=0)
    # Shipping, in minor units: a line of the total when delivery is shipping (else 0).
    shipping_amount = models.PositiveIntegerField(default=0)
    total_amount = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3, default="usd")
    total_quantity = models.PositiveIntegerField(default=0)
    stripe_checkout_session_id = models.CharField(
        max_length=255, unique=True, null=True, blank=True, editable=False
    )
    checkout_url = models.URLField(max_length=2048, blank=True, editable=False)
    # NULL (no key) stays outside the per-owner unique constraint.
    idempotency_key = models.CharField(  # noqa: DJ001
        max_length=255, null=True, blank=True, editable=False
    )
    due_date = models.DateField(null=True, blank=True, help_text="Promised ready-to-ship date.")
    # Shipping (with a `shipping_address`), pickup at the shop, or unknown (orders from before).
    delivery = models.CharField(max_length=10, choices=Delivery, default=Delivery.UNKNOWN)
    created_at = models.DateTimeField(auto_now_add=True)  # indexed by order_created_seek
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # The revision of the artwork proof waiting for the customer's answer (NULL: none). Kept by the
    # services with the proofs, so the rulebook and lists ("awaiting customer") read one column.
    waiting_proof_revision = models.PositiveIntegerField(null=True, blank=True, editable=False)
    # Items shipped or picked up so far, kept by the services with the shipments, so the rulebook,
    # lists and exports read a column ("2 of 3 items shipped") instead of summing shipments.
    shipped_quantity = models.PositiveIntegerField(default=0, editable=False)
    # When the customer was told the order waits for them at the shop (NULL: not told).
    pickup_ready_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The order's name in the store it came from (a Shopify order's "#1001"), shown beside the
    # reference; empty for orders placed here. Set once, by the service that creates the order.
    external_reference = models.CharField(max_length=64, blank=True, editable=False)
    # The techniques of its line items (`TECHNIQUE_BITS`), set by the services with the items, which
    # never change after: the production board filters and shows them without reading line items.
    technique_bits = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("operate_orders", "Can run production orders (ops dashboard, PATCH API)")]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="order_idempotency_key_per_owner",
            )
        ]
        indexes = [
            # A customer's orders, newest first; their states included, so the ops list's tab
            # counts for a customer search are an index-only scan (ops.selectors.status_counts).
            models.Index(
                fields=["owner", "-created_at"], include=["status"], name="order_owner_created"
            ),
            models.Index(fields=["due_date"], name="order_due_date"),
            # Keyset paging (production/sorting.py): each list order, alone or after an equality
            # filter, is one index range scan however deep the page.
            models.Index(fields=["created_at", "id"], name="order_created_seek"),
            models.Index(fields=["status", "created_at", "id"], name="order_status_seek"),
            models.Index(
                fields=["production_status", "created_at", "id"], name="order_prodstatus_seek"
            ),
            models.Index(fields=["priority", "created_at", "id"], name="order_priority_seek"),
            models.Index(PRIORITY_RANK, "created_at", "id", name="order_priority_rank_seek"),
            models.Index(ETA_KEY, "created_at", "id", name="order_eta_seek"),
            # Orders awaiting the customer's answer to a proof, newest first: a small partial index.
            models.Index(
                fields=["created_at", "id"],
                condition=models.Q(waiting_proof_revision__isnull=False),
                name="order_proof_waiting_seek",
            ),
            # The production board (ops/board.py): the open orders by stage and due date, a small
            # slice of the history; what its counts and filters read is included (index-only).
            # The open states are the rulebook's: submitted, approved, in production.
            models.Index(
                fields=["status", "production_status", "due_date", "reference"],
                include=["priority", "garment", "technique_bits"],
                condition=models.Q(status__in=OPEN_STATES),
                name="order_open_board",
            ),
            # Reference prefix search (LIKE 'ORD-0001%') whatever the database collation.
            models.Index(
                fields=["reference"],
                opclasses=["varchar_pattern_ops"],
                name="order_reference_prefix",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATES

    @property
    def proof_waiting(self) -> bool:
        return self.waiting_proof_revision is not None

    @property
    def changes_requested(self) -> bool:
        """The customer asked for changes to the last proof and no new one is out yet: the shop
        owes them a proof. Read from an annotation (`has_changes_requested`, selectors) or the
        proofs (prefetched, or one query for a submitted order with no proof waiting)."""
        annotated = self.__dict__.get("has_changes_requested")
        if annotated is not None:
            return bool(annotated)
        if self.status != OrderState.SUBMITTED or self.waiting_proof_revision is not None:
            return False
        return any(p.state == ArtworkProof.State.CHANGES_REQUESTED for p in self.proofs.all())

    @property
    def eta_days(self) -> int:
        return eta_days(
            status=self.status,
            priority=self.priority,
            due_date=self.due_date,
            today=timezone.localdate(),
        )


class ShippingAddress(models.Model):
    """Where an order ships (Printful's recipient), validated per country when given
    (production/addresses.py). Personal data: shown to the order's owner and operators only,
    never logged. Written only by the services; a correction keeps the old value on an event."""

    order = models.OneToOneField(
        ProductionOrder, on_delete=models.CASCADE, related_name="shipping_address"
    )
    name = models.CharField(max_length=200)
    address1 = models.CharField(max_length=200)
    address2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state_code = models.CharField(max_length=50, blank=True)
    country_code = models.CharField(max_length=2)
    postal_code = models.CharField(max_length=20, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name}, {self.city} {self.country_code}"


class LineItem(models.Model):
    order = models.ForeignKey(ProductionOrder, on_delete=models.CASCADE, related_name="line_items")
    color = models.ForeignKey(GarmentColor, on_delete=models.PROTECT, related_name="line_items")
    size = models.CharField(max_length=20)
    # The variant's SKU when ordered: what was sold, whatever the catalogue says later.
    sku = models.CharField(max_length=64, blank=True)
    quantity = models.PositiveIntegerField()
    technique = models.CharField(max_length=20, choices=Technique, default=Technique.DTG)
    unit_amount = models.PositiveIntegerField(help_text="Unit price charged, in minor units.")
    metadata = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.size}"

    @property
    def line_amount(self) -> int:
        return self.unit_amount * self.quantity


class OrderDesign(models.Model):
    """The design printed at one placement of an order. The front one is the order's
    `design_url` (the spec's `designUrl`); written only by the services, with the order."""

    order = models.ForeignKey(ProductionOrder, on_delete=models.CASCADE, related_name="designs")
    placement = models.ForeignKey(Placement, on_delete=models.PROTECT, related_name="designs")
    url = models.URLField(max_length=2048)

    class Meta:
        ordering = ["order", "placement__position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "placement"], name="design_per_placement")
        ]

    def __str__(self) -> str:
        return f"{self.placement_id}: {self.url}"


class FulfillmentEvent(models.Model):
    """The audit trail of an order, customer-visible except for the kinds in
    `OPERATOR_ONLY_KINDS` (shop-floor bookkeeping). Append-only: rows are never edited."""

    class Kind(models.TextChoices):
        CREATED = "created", "Order created"
        STATE = "state", "Order state"
        PRODUCTION_STATUS = "production_status", "Production status"
        PRIORITY = "priority", "Priority"
        MESSAGE = "message", "Message to customer"
        PROOF = "proof", "Artwork proof"
        SHIPMENT = "shipment", "Shipment"
        PICKUP = "pickup", "Local pickup"
        REFUND = "refund", "Refund"
        JOB_TICKET = "job_ticket", "Job ticket printed"
        ADDRESS = "address", "Delivery address"

    order = models.ForeignKey(ProductionOrder, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind)
    status = models.CharField(max_length=40)
    message = models.TextField(null=True, blank=True)  # noqa: DJ001
    occurred_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=20, choices=EventSource)
    metadata = models.JSONField(null=True, blank=True)
    # The one-time token of the form that posted it (a message): the same form posted again
    # posts nothing.
    request_key = models.CharField(  # noqa: DJ001
        max_length=64, null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["order", "occurred_at", "id"], name="event_order_time")]
        constraints = [
            models.UniqueConstraint(
                fields=["request_key"],
                condition=models.Q(request_key__isnull=False),
                name="event_request_key_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.status}: {self.message or ''}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ValueError("Fulfillment events are append-only and cannot be edited.")
        super().save(*args, **kwargs)


# Events the customer never sees (their order page, the API's `events`, their socket): the shop
# floor's own bookkeeping, which tells a customer nothing about their order's progress.
OPERATOR_ONLY_KINDS: frozenset[str] = frozenset({FulfillmentEvent.Kind.JOB_TICKET})


def proof_upload_path(proof: "ArtworkProof", filename: str) -> str:
    # Unguessable, and never derived from the uploaded name (which the customer may see).
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"proofs/{proof.order_id}/{uuid.uuid4().hex}.{extension}"


class ArtworkProof(models.Model):
    """One revision of the artwork proof an operator sent for the customer's approval.

    Written only by `services.send_proof` / `services.decide_proof`. At most one revision of an
    order waits at a time (its number is the order's `waiting_proof_revision`)."""

    class State(models.TextChoices):
        WAITING = "waiting", "Waiting for the customer"
        APPROVED = "approved", "Approved"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        SUPERSEDED = "superseded", "Superseded by a newer revision"
        WITHDRAWN = "withdrawn", "Withdrawn (order canceled)"

    class Via(models.TextChoices):
        CUSTOMER = "customer", "The customer, on the site"
        PHONE = "phone", "By phone, recorded by an operator"

    class Kind(models.TextChoices):
        IMAGE = "image", "Image"
        PDF = "pdf", "PDF"

    order = models.ForeignKey(ProductionOrder, on_delete=models.CASCADE, related_name="proofs")
    revision = models.PositiveIntegerField()
    file = models.FileField(upload_to=proof_upload_path, max_length=255)
    kind = models.CharField(max_length=10, choices=Kind)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField(help_text="Bytes stored.")
    notes = models.TextField(blank=True, max_length=2000)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=20, choices=State, default=State.WAITING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_via = models.CharField(max_length=10, choices=Via, blank=True)
    comment = models.TextField(blank=True, max_length=2000)

    class Meta:
        ordering = ["order", "revision"]
        constraints = [
            models.UniqueConstraint(fields=["order", "revision"], name="proof_revision_per_order")
        ]

    def __str__(self) -> str:
        return f"Proof {self.revision} of {self.order_id}"


# A proof's choice sets as the API spells them (named once in the OpenAPI schema).
PROOF_STATES: list[str] = ArtworkProof.State.values
PROOF_VIAS: list[str] = ArtworkProof.Via.values


class Shipment(models.Model):
    """Items of an order that left the shop: a parcel handed to a carrier, or the customer's
    collection at the counter (kind `pickup`, no carrier). Written only by the services
    (`record_shipment`, `record_pickup`, `correct_shipment`); a correction changes the carrier and
    number here and keeps the old ones on the order's timeline."""

    class Kind(models.TextChoices):
        SHIPMENT = "shipment", "Shipment"
        PICKUP = "pickup", "Local pickup"

    order = models.ForeignKey(ProductionOrder, on_delete=models.CASCADE, related_name="shipments")
    kind = models.CharField(max_length=10, choices=Kind, default=Kind.SHIPMENT)
    carrier = models.CharField(max_length=10, choices=Carrier, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    tracking_url = models.URLField(max_length=2048, blank=True)
    shipped_on = models.DateField(help_text="The day it left the shop (or was collected).")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # A double-submitted form cannot record one parcel twice.
            models.UniqueConstraint(
                fields=["order", "carrier", "tracking_number"],
                condition=models.Q(kind="shipment"),
                name="shipment_tracking_per_order",
            ),
            models.CheckConstraint(
                condition=models.Q(kind="pickup", carrier="", tracking_number="")
                | (
                    models.Q(kind="shipment")
                    & ~models.Q(carrier="")
                    & ~models.Q(tracking_number="")
                ),
                name="shipment_has_tracking",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.PICKUP:
            return f"Picked up {self.shipped_on}"
        return f"{self.get_carrier_display()} {self.tracking_number}"


class ShipmentItem(models.Model):
    """How many of one line item a shipment holds."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="items")
    line_item = models.ForeignKey(LineItem, on_delete=models.PROTECT, related_name="shipment_items")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["line_item_id"]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "line_item"], name="shipment_item_once"),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="shipment_item_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × line {self.line_item_id}"


class OrderNote(models.Model):
    """An operator's internal note. Never shown to the customer."""

    order = models.ForeignKey(ProductionOrder, on_delete=models.CASCADE, related_name="notes_log")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)
    # The one-time token of the form that added it: the same form posted again adds nothing.
    request_key = models.CharField(  # noqa: DJ001
        max_length=64, null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request_key"],
                condition=models.Q(request_key__isnull=False),
                name="note_request_key_unique",
            )
        ]

    def __str__(self) -> str:
        return self.body[:50]


class OutgoingEmail(models.Model):
    """A customer e-mail, written in the transaction of the change it reports (a transactional
    outbox): a change that commits always has its mail on record, and a mail server that is down
    delays the mail instead of losing it. A worker of the task queue sends it, at most once
    (`production.notifications`)."""

    class Kind(models.TextChoices):
        ORDER_FULFILLED = "order_fulfilled", "Order fulfilled"
        CUSTOMER_MESSAGE = "customer_message", "Message to customer"
        PROOF_SENT = "proof_sent", "Artwork proof sent"
        SHIPMENT_SENT = "shipment_sent", "Shipment sent"
        SHIPMENT_CORRECTED = "shipment_corrected", "Shipment tracking corrected"
        PICKUP_READY = "pickup_ready", "Ready for pickup"
        PICKED_UP = "picked_up", "Picked up"
        REFUND_SUCCEEDED = "refund_succeeded", "Refund sent (to the customer)"
        REFUND_FAILED = "refund_failed", "Refund failed (to the shop's staff)"
        ADDRESS_CORRECTED = "address_corrected", "Delivery address corrected"
        ORDER_RECEIPT = "order_receipt", "Receipt (payment confirmed)"
        ORDER_CANCELED = "order_canceled", "Order canceled (why, and the refund)"

    order = models.ForeignKey(ProductionOrder, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=20, choices=Kind)
    to = models.EmailField()
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Set just before the mail itself goes to the mail server, cleared when the server refuses it.
    # Still set without `sent_at`: the outcome is unknown (worker killed, connection lost), so the
    # mail is never retried by itself — sending at most once (notifications.delivery_state).
    handed_over_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # The retry sweep reads only what is still unsent, oldest due first.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(sent_at__isnull=True),
                name="email_unsent_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.to}"
