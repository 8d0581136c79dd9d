"""The order as its JSON: the spec's camelCase shape that GET /api/production/<id>, the live
pages' socket frames and the list rows share, built from the model without DRF.

`production.api.serializers` documents the same shape for the OpenAPI schema; a test asserts the
two agree field by field (tests/production/test_order_json.py).
"""

from __future__ import annotations

from datetime import date, datetime

from django.urls import reverse
from django.utils import timezone

from artwork.models import PreflightReport, gate_of
from production.lifecycle import (
    OrderState,
    actor_role,
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
    ProductionOrder,
    Shipment,
    ShippingAddress,
)
from production.tracking import Carrier


def when(value: datetime | None) -> str | None:
    """A moment as DRF writes it: ISO 8601 in the current time zone, UTC as "Z"."""
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def text_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def garment_json(garment: Garment | None) -> dict | None:
    if garment is None:
        return None
    return {
        "id": garment.shopify_gid,
        "name": str(garment.name),
        "imageUrl": garment.image_url_or_none,
        "sizes": [str(size) for size in garment.sizes],
        "unitAmount": garment.base_price,
        "currency": str(garment.currency),
    }


def color_sizes_in_stock(color: GarmentColor) -> list[str]:
    """The sizes of a colour in stock, in the garment's size order (its variants prefetched)."""
    rank = {size: i for i, size in enumerate(color.garment.sizes)}
    sizes = [str(v.size) for v in color.variants.all() if v.in_stock]
    return sorted(sizes, key=lambda size: (rank.get(size, len(rank)), size))


def color_json(color: GarmentColor) -> dict:
    return {
        "name": str(color.name),
        "hex": str(color.hex),
        "sizes": color_sizes_in_stock(color),
        "default": color.is_default,
    }


def placement_json(placement: Placement) -> dict:
    return {
        "code": str(placement.code),
        "name": str(placement.name),
        "widthIn": float(placement.width_in),
        "heightIn": float(placement.height_in),
        "unitAmount": placement.unit_amount,
    }


def garment_catalogue_json(garment: Garment | None) -> dict | None:
    """The garment with its colours and placements (prefetched: `selectors`)."""
    if garment is None:
        return None
    return {
        **garment_json(garment),
        "colors": [color_json(color) for color in garment.colors.all()],
        "placements": [placement_json(placement) for placement in garment.placements.all()],
    }


def design_json(design: OrderDesign) -> dict:
    return {
        "placement": str(design.placement.code),
        "placementName": str(design.placement.name),
        "url": str(design.url),
    }


def line_item_json(item: LineItem) -> dict:
    return {
        "id": str(item.id),
        "size": str(item.size),
        "color": str(item.color.name),
        "sku": str(item.sku),
        "quantity": item.quantity,
        "technique": str(item.technique),
        "unitAmount": item.unit_amount,
        "metadata": item.metadata,
    }


# Event metadata only operators see (the ops page's timeline, the admin): never in this JSON.
OPERATOR_ONLY_METADATA = ("request_id",)


def customer_metadata(event: FulfillmentEvent) -> dict | None:
    """The event's metadata as customers may see it: the actor as a role, no request id."""
    if event.metadata is None:
        return None
    shown = {k: v for k, v in event.metadata.items() if k not in OPERATOR_ONLY_METADATA}
    return {**shown, "actor": actor_role(event.source)}


def event_json(event: FulfillmentEvent) -> dict:
    # This JSON reaches customers (API, sockets, cached for owner and operators alike): `actor`
    # is the role from the event's source, also for rows that stored a user id.
    return {
        "id": str(event.id),
        "status": str(event.status),
        "message": text_or_none(event.message),
        "occurredAt": when(event.occurred_at),
        "metadata": customer_metadata(event),
    }


def proof_json(proof: ArtworkProof) -> dict:
    return {
        "revision": proof.revision,
        "url": reverse("order-proof-file", args=[proof.order_id, proof.revision]),
        "kind": str(proof.kind),
        "notes": str(proof.notes),
        "state": str(proof.state),
        "sentAt": when(proof.sent_at),
        "decidedAt": when(proof.decided_at),
        "decidedVia": str(proof.decided_via) if proof.decided_via else None,
        "comment": str(proof.comment),
    }


def shipment_json(shipment: Shipment) -> dict:
    return {
        "id": str(shipment.id),
        "kind": str(shipment.kind),
        "carrier": shipment.carrier or None,
        "carrierName": Carrier(shipment.carrier).label if shipment.carrier else None,
        "trackingNumber": shipment.tracking_number or None,
        "trackingUrl": shipment.tracking_url or None,
        "shippedOn": day(shipment.shipped_on),
        "items": [
            {
                "lineItemId": str(item.line_item_id),
                "size": str(item.line_item.size),
                "quantity": item.quantity,
            }
            for item in shipment.items.all()
        ],
    }


def shipping_json(order: ProductionOrder) -> dict | None:
    """The order's ship-to address (personal data: the order JSON goes to its owner and operators
    only; the operators' list frames leave it out), or None."""
    try:
        address = order.shipping_address
    except ShippingAddress.DoesNotExist:
        return None
    return {
        "name": str(address.name),
        "address1": str(address.address1),
        "address2": str(address.address2),
        "city": str(address.city),
        "stateCode": str(address.state_code),
        "countryCode": str(address.country_code),
        "zip": str(address.postal_code),
        "phone": str(address.phone),
    }


def order_summary_json(order: ProductionOrder) -> dict:
    """A row of GET /api/production (and of the operators' live list)."""
    return {
        "id": str(order.id),
        "reference": str(order.reference),
        "status": str(order.production_status),
        "orderStatus": str(order.status),
        "createdAt": when(order.created_at),
        "updatedAt": when(order.updated_at),
        "prompt": text_or_none(order.prompt),
        "priority": str(order.get_priority_display()),
        "etaDays": order.eta_days,
        "imageUrl": text_or_none(order.design_url),
        "designUrl": text_or_none(order.design_url),
        "notes": str(order.notes),
        "garment": garment_json(order.garment),
        "lineItems": [line_item_json(item) for item in order.line_items.all()],
        "totalQuantity": order.total_quantity,
        "subtotalAmount": order.subtotal_amount,
        "rushSurchargeAmount": order.rush_surcharge_amount,
        "totalAmount": order.total_amount,
        "currency": str(order.currency),
        "submittedAt": when(order.submitted_at),
        # Only an unpaid draft still has a checkout to go back to.
        "checkoutUrl": (order.checkout_url or None) if order.status == OrderState.DRAFT else None,
        "proofWaiting": order.proof_waiting,
        "shippedQuantity": order.shipped_quantity,
        "pickupReadyAt": when(order.pickup_ready_at),
        "delivery": str(order.delivery),
        "shippingAmount": order.shipping_amount,
    }


def preflight_json(order: ProductionOrder) -> dict:
    """The artwork check of the order's designs (issue 24): the order's verdict (unchecked,
    pending, pass, warning, fail), whether its warnings are acknowledged, for a draft the
    rulebook's refusal of its payment and how long a running check holds it (decision 0069), and
    each design's report, its checks in words for people."""
    reports = list(
        PreflightReport.objects.filter(order_id=order.pk)
        .select_related("design__placement")
        .order_by("design__placement__position", "design_id")
    )
    gate = gate_of(reports)
    draft = order.status == OrderState.DRAFT
    return {
        "verdict": str(gate.verdict),
        "acknowledged": gate.acknowledged,
        "refusal": gate.refusal if draft else None,
        "holdUntil": when(gate.hold_until) if draft else None,
        "designs": [
            {
                "placement": str(r.design.placement.code),
                "placementName": str(r.design.placement.name),
                "url": str(r.url),
                "verdict": str(r.verdict),
                "checkedAt": when(r.checked_at),
                "overridden": r.overridden_at is not None,
                "overrideReason": str(r.override_reason),
                "checks": [
                    {
                        "code": str(c.get("code", "")),
                        "status": str(c.get("status", "")),
                        "title": str(c.get("title", "")),
                        "message": str(c.get("message", "")),
                    }
                    for c in r.checks
                ],
            }
            for r in reports
        ],
    }


def order_json(order: ProductionOrder, *, catalogue: dict | None = None) -> dict:
    """The order as GET /api/production/<id> serves it, with its events, proofs and shipments,
    and the customer's words for it (as their order page shows them). `catalogue`: the garment's
    `garment_catalogue_json` when the caller has it already (`selectors.garment_catalogue`)."""
    return {
        **order_summary_json(order),
        "garment": catalogue if catalogue is not None else garment_catalogue_json(order.garment),
        "designs": [design_json(design) for design in order.designs.all()],
        "preflight": preflight_json(order),
        "events": [event_json(event) for event in order.events.all()],
        "proofs": [proof_json(proof) for proof in order.proofs.all()],
        "shipments": [shipment_json(shipment) for shipment in order.shipments.all()],
        "shipping": shipping_json(order),
        "statusText": customer_stage_text(order),
        "etaText": customer_eta_text(order),
        "holdText": customer_hold_text(order),
        "progress": customer_progress(order),
        "canceledText": customer_canceled_text(order),
        "shippedText": shipped_text(order),
    }
