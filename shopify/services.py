"""The Shopify store's webhooks and fulfilments: receive → verify → dedupe → act in one transaction.

A webhook is verified on its raw body (HMAC-SHA256, base64, `X-Shopify-Hmac-Sha256`), read just
enough to refuse a malformed one (400), and recorded once by `X-Shopify-Webhook-Id` together with
the task that acts on it; the endpoint answers at once. The task (`process_delivery`) acts on it
in one transaction: a paid order becomes production orders (`production.services.store_orders`),
a cancelled one is cancelled where nothing is printed yet, a product changes its garment
(`shopify.catalogue`). A shipment of a store order goes back as a fulfilment with its tracking
(`shipment_recorded`, then `push_fulfilment` on the task queue).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from artwork.tasks import request_preflight
from production.lifecycle import OrderState
from production.models import OrderNote, Placement, ProductionOrder, Shipment, Variant
from production.services.store_orders import (
    StoreLine as ProductionLine,
)
from production.services.store_orders import (
    StoreOrder as StoreOrderRequest,
)
from production.services.store_orders import (
    cancel_store_order_in_transaction,
    create_store_order_in_transaction,
)
from shopify import client as admin
from shopify.models import FulfilmentPush, StoreLine, StoreOrder, WebhookDelivery
from shopify.simulator import sign

logger = logging.getLogger(__name__)

Outcome = WebhookDelivery.Outcome
DUPLICATE = "duplicate"

ORDER_TOPICS = frozenset({"orders/paid", "orders/cancelled"})
PRODUCT_TOPICS = frozenset({"products/create", "products/update", "products/delete"})
TOPICS = ORDER_TOPICS | PRODUCT_TOPICS
MAX_WEBHOOK_ID = WebhookDelivery._meta.get_field("webhook_id").max_length
MAX_HMAC_HEADER = 200


class InvalidSignature(Exception):
    """No X-Shopify-Hmac-Sha256, or not the body's under the app's secret."""


class InvalidWebhook(Exception):
    """A correctly signed delivery that is not a webhook this app can read."""


# --- receiving -----------------------------------------------------------------------------------


def verify_webhook(*, body: bytes, hmac_header: str | None) -> None:
    """Raise InvalidSignature unless `hmac_header` is the HMAC-SHA256 (base64) of the raw `body`
    under SHOPIFY_API_SECRET, compared in constant time."""
    secret = settings.SHOPIFY_API_SECRET
    if not secret:
        raise InvalidSignature("SHOPIFY_API_SECRET is not set.")
    if not hmac_header or len(hmac_header) > MAX_HMAC_HEADER or not hmac_header.isascii():
        raise InvalidSignature("No usable X-Shopify-Hmac-Sha256 header.")
    if not hmac.compare_digest(sign(body, secret).encode(), hmac_header.strip().encode()):
        raise InvalidSignature("The X-Shopify-Hmac-Sha256 header does not match the body.")


@dataclass(frozen=True)
class Received:
    webhook_id: str
    topic: str
    outcome: str
    delivery_id: int | None = None


def receive_webhook(*, body: bytes, headers: Mapping[str, str]) -> Received:
    """Verify a delivery, read it, and record it once with the task that acts on it. A second
    delivery of the same webhook id changes nothing (`duplicate`)."""
    verify_webhook(body=body, hmac_header=headers.get("X-Shopify-Hmac-Sha256"))
    topic = (headers.get("X-Shopify-Topic") or "").strip()
    webhook_id = (headers.get("X-Shopify-Webhook-Id") or "").strip()
    if not webhook_id or len(webhook_id) > MAX_WEBHOOK_ID:
        raise InvalidWebhook("X-Shopify-Webhook-Id is missing or too long.")
    payload = read_payload(body, topic)
    if WebhookDelivery.objects.filter(webhook_id=webhook_id).exists():  # a fast path only
        return Received(webhook_id, topic, DUPLICATE)
    from shopify.tasks import process_webhook

    try:
        with transaction.atomic(durable=True):
            delivery = WebhookDelivery.objects.create(
                webhook_id=webhook_id,
                topic=topic,
                shop_domain=(headers.get("X-Shopify-Shop-Domain") or "")[:255],
                payload=payload,
                outcome=Outcome.QUEUED if topic in TOPICS else Outcome.IGNORED,
                processed_at=None if topic in TOPICS else timezone.now(),
            )
            if topic in TOPICS:
                process_webhook.enqueue(delivery.pk)
    except IntegrityError:
        if WebhookDelivery.objects.filter(webhook_id=webhook_id).exists():
            return Received(webhook_id, topic, DUPLICATE)
        raise
    return Received(webhook_id, topic, delivery.outcome, delivery.pk)


def read_payload(body: bytes, topic: str) -> dict[str, Any]:
    """The webhook's JSON object, checked for the fields its topic is acted on by (InvalidWebhook
    otherwise: answered 400, nothing recorded)."""
    if not topic or len(topic) > 50:
        raise InvalidWebhook("X-Shopify-Topic is missing.")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise InvalidWebhook("The body is not JSON.") from exc
    if not isinstance(payload, dict):
        raise InvalidWebhook("The body is not a JSON object.")
    if topic in TOPICS and not _is_id(payload.get("id")):
        raise InvalidWebhook(f"A {topic} webhook names its {topic.split('/')[0][:-1]} by id.")
    if topic == "orders/paid":
        items = payload.get("line_items")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise InvalidWebhook("The order's line_items are not a list of line items.")
        for item in items:
            if not _is_id(item.get("id")) or not _is_count(item.get("quantity")):
                raise InvalidWebhook("A line item has no id or quantity.")
            if item.get("variant_id") is not None and not _is_id(item["variant_id"]):
                raise InvalidWebhook("A line item's variant_id is not an id.")
            properties = item.get("properties") or []
            if not isinstance(properties, list) or not all(
                isinstance(p, dict) and isinstance(p.get("name"), str) for p in properties
            ):
                raise InvalidWebhook("A line item's properties are malformed.")
        if not isinstance(payload.get("name"), str):
            raise InvalidWebhook("The order has no name.")
        address = payload.get("shipping_address")
        if address is not None and not isinstance(address, dict):
            raise InvalidWebhook("The order's shipping_address is not an address.")
    return payload


def _is_id(value: object) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool) and value > 0) or (
        isinstance(value, str) and 0 < len(value) <= 100
    )


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 100_000


def _gid(kind: str, value: object) -> str:
    text = str(value)
    return text if text.startswith("gid://") else f"gid://shopify/{kind}/{text}"


# --- acting on a delivery (the task) --------------------------------------------------------------


def process_delivery(delivery_id: int) -> str:
    """Act on a recorded delivery once; its outcome is recorded on it. A product's details are
    read from the store first (outside the transaction); a failure to reach it raises, and the
    task is run again."""
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    if delivery.processed_at is not None:
        return delivery.outcome
    product = None
    if delivery.topic in ("products/create", "products/update"):
        from shopify import catalogue

        gid = _gid("Product", delivery.payload["id"])
        if not catalogue.is_stale(gid, delivery.payload.get("updated_at")):
            product = catalogue.fetch_product(admin.get_client(), gid)
    try:
        return _act(delivery_id, product)
    except IntegrityError:
        # Another delivery of the same store order (another webhook id) committed it first: acted
        # on again, this one finds it done.
        return _act(delivery_id, product)


def _act(delivery_id: int, product: Mapping[str, Any] | None) -> str:
    with transaction.atomic(durable=True):
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.processed_at is not None:
            return delivery.outcome
        payload = delivery.payload
        if delivery.topic == "orders/paid":
            outcome, detail = _import_order(payload)
        elif delivery.topic == "orders/cancelled":
            outcome, detail = _cancel_order(payload)
        else:
            from shopify import catalogue

            outcome, detail = catalogue.apply_product_webhook(delivery.topic, payload, product)
        delivery.outcome, delivery.detail = outcome, detail
        delivery.processed_at = timezone.now()
        delivery.save(update_fields=["outcome", "detail", "processed_at"])
    logger.info("Shopify %s %s: %s %s", delivery.topic, delivery.webhook_id, outcome, detail)
    return outcome


def give_up_delivery(delivery_id: int, reason: str) -> None:
    """A delivery that could not be acted on (the store kept failing): said on its row, in the
    admin, for a person; the next `sync_shopify` catches the product up."""
    WebhookDelivery.objects.filter(pk=delivery_id, processed_at__isnull=True).update(
        outcome=Outcome.FAILED, detail=reason[:2000], processed_at=timezone.now()
    )


def store_owner() -> Any:
    """The account that owns store orders (SHOPIFY_ORDER_OWNER), created without a password."""
    email = settings.SHOPIFY_ORDER_OWNER
    user, created = get_user_model().objects.get_or_create(
        username=email, defaults={"email": email, "first_name": "Online store"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _updated_at(payload: Mapping[str, Any]) -> datetime | None:
    value = payload.get("updated_at")
    return parse_datetime(value) if isinstance(value, str) else None


def _import_order(payload: Mapping[str, Any]) -> tuple[str, str]:
    gid = _gid("Order", payload.get("admin_graphql_api_id") or payload["id"])
    store = StoreOrder.objects.select_for_update().filter(order_gid=gid).first()
    if store is not None and store.state != StoreOrder.State.NOT_IMPORTED:
        return Outcome.UNCHANGED, f"{store.name} is already {store.get_state_display().lower()}."
    if store is None:
        store = StoreOrder.objects.create(
            order_gid=gid,
            name=str(payload["name"])[:64],
            state=StoreOrder.State.NOT_IMPORTED,
            payload=payload,
            store_updated_at=_updated_at(payload),
        )
    else:
        store.payload = payload
    state, detail = import_store_order(store)
    return {
        StoreOrder.State.IMPORTED: Outcome.IMPORTED,
        StoreOrder.State.HELD: Outcome.HELD,
        StoreOrder.State.NOT_IMPORTED: Outcome.NOT_IMPORTED,
        StoreOrder.State.NO_PRINT_ITEMS: Outcome.NO_PRINT_ITEMS,
    }[state], detail


@dataclass
class _Line:
    item: Mapping[str, Any]
    variant: Variant | None
    designs: list[tuple[Placement, str]]
    problems: list[str]

    @property
    def words(self) -> str:
        title = str(self.item.get("title") or "item")[:80]
        variant = self.variant
        return f"{title} ({variant.color.name} / {variant.size})" if variant else title


def import_store_order(store: StoreOrder) -> tuple[str, str]:
    """Make the production orders of a paid store order (in the caller's transaction, its row
    locked): one per garment and set of designs, each on hold with the reasons an operator must
    sort out (a missing or unusable design, an address the shop cannot ship to). A line whose
    variant is not in the catalogue keeps the whole order waiting (`not_imported`, the reason in
    words) until the catalogue has it (`sync_shopify`, a product webhook, or "Import again")."""
    payload = store.payload
    lines, waiting = [], []
    properties_by_placement = {
        code: name for code, name in settings.SHOPIFY_DESIGN_PROPERTIES.items() if name
    }
    for item in payload.get("line_items") or []:
        props = {
            p["name"]: p.get("value")
            for p in item.get("properties") or []
            if isinstance(p, dict) and isinstance(p.get("name"), str)
        }
        has_design = any(name in props for name in properties_by_placement.values())
        variant = None
        if item.get("variant_id") is not None:
            variant = (
                Variant.objects.select_related("garment", "color")
                .filter(shopify_variant_gid=_gid("ProductVariant", item["variant_id"]))
                .first()
            )
        if variant is None:
            if has_design:
                waiting.append(
                    f"{item.get('title') or 'A line'} (variant {item.get('variant_id')}) is not "
                    "in the catalogue: sync the store's products (sync_shopify), then import "
                    "again."
                )
            continue  # no design and not in the catalogue: not a print product
        line = _Line(item, variant, [], [])
        placements = {p.code: p for p in variant.garment.placements.all()}
        for code, name in properties_by_placement.items():
            value = props.get(name)
            if value in (None, ""):
                continue
            url = str(value).strip()
            if code not in placements:
                line.problems.append(
                    f"{line.words} has a {name!r} design, but {variant.garment.name} offers no "
                    f"{code.replace('_', ' ')} placement."
                )
            elif urlsplit(url).scheme not in ("http", "https") or len(url) > 2048:
                line.problems.append(f"{line.words}: the {name!r} design is not a web address.")
            else:
                line.designs.append((placements[code], url))
        if not any(p.code == "front" for p, _ in line.designs):
            line.problems.append(
                f"{line.words} has no front design (line-item property "
                f"{properties_by_placement.get('front', 'Design')!r}): get it from the store."
            )
        lines.append(line)
    if waiting:
        store.state, store.detail = StoreOrder.State.NOT_IMPORTED, " ".join(waiting)
        store.save(update_fields=["state", "detail", "payload", "updated_at"])
        return store.state, store.detail
    if not lines:
        store.state, store.detail = StoreOrder.State.NO_PRINT_ITEMS, "No line is a print product."
        store.save(update_fields=["state", "detail", "payload", "updated_at"])
        return store.state, store.detail
    groups: dict[tuple, list[_Line]] = {}
    for line in lines:
        key = (line.variant.garment_id, tuple(sorted((p.pk, url) for p, url in line.designs)))
        groups.setdefault(key, []).append(line)
    owner = store_owner()
    address = _address(payload)
    held = []
    for number, group in enumerate(groups.values(), start=1):
        name = store.name if len(groups) == 1 else f"{store.name} ({number} of {len(groups)})"
        reasons = [problem for line in group for problem in line.problems]
        order, items = create_store_order_in_transaction(
            StoreOrderRequest(
                owner=owner,
                garment=group[0].variant.garment,
                lines=[ProductionLine(line.variant, int(line.item["quantity"])) for line in group],
                designs=group[0].designs,
                external_reference=name,
                delivery="shipping" if address else None,
                shipping=address,
                hold_reasons=reasons,
                notes=str(payload.get("note") or "")[:2000],
                metadata={"storeOrder": store.name, "storeOrderId": store.order_gid},
            )
        )
        store.orders.add(order)
        # Its designs are checked like any paid order's (the artwork check, on the task queue):
        # the verdict shows on its pages; a store order is paid already, so nothing waits for it.
        request_preflight(order)
        StoreLine.objects.bulk_create(
            StoreLine(
                store_order=store,
                line_item_gid=_gid(
                    "LineItem", line.item.get("admin_graphql_api_id") or line.item["id"]
                ),
                variant_gid=line.variant.shopify_variant_gid,
                quantity=int(line.item["quantity"]),
                line_item=item,
            )
            for line, item in zip(group, items, strict=True)
        )
        if order.priority == "hold":
            held.append(f"{order.reference} on hold: {' '.join(reasons) or 'see its notes'}")
    store.state = StoreOrder.State.HELD if held else StoreOrder.State.IMPORTED
    store.detail = " ".join(held)
    store.save(update_fields=["state", "detail", "payload", "updated_at"])
    return store.state, store.detail


def _address(payload: Mapping[str, Any]) -> dict[str, str] | None:
    address = payload.get("shipping_address")
    if not isinstance(address, dict):
        return None
    name = address.get("name") or " ".join(
        str(address.get(k) or "") for k in ("first_name", "last_name")
    )

    def text(key: str) -> str:
        value = address.get(key)
        return str(value).strip() if value is not None else ""

    return {
        "name": str(name).strip(),
        "address1": text("address1"),
        "address2": text("address2"),
        "city": text("city"),
        "stateCode": text("province_code"),
        "countryCode": text("country_code"),
        "zip": text("zip"),
        "phone": text("phone"),
    }


def _cancel_order(payload: Mapping[str, Any]) -> tuple[str, str]:
    gid = _gid("Order", payload.get("admin_graphql_api_id") or payload["id"])
    reason = f"Canceled in the store ({payload.get('cancel_reason') or 'no reason given'})"
    store = StoreOrder.objects.select_for_update().filter(order_gid=gid).first()
    if store is None:
        # Cancelled before its payment reached us: a late orders/paid then makes nothing.
        StoreOrder.objects.create(
            order_gid=gid,
            name=str(payload.get("name") or gid)[:64],
            state=StoreOrder.State.CANCELED,
            detail=reason,
            payload=dict(payload),
            store_updated_at=_updated_at(payload),
        )
        return Outcome.CANCELED, "Canceled before it was imported: nothing to make."
    refusals = []
    for order in store.orders.order_by("reference"):
        _order, refused = cancel_store_order_in_transaction(order=order.pk, reason=reason)
        if refused and _order.status != OrderState.CANCELED:
            refusals.append(f"{order.reference}: {refused}")
    if refusals:
        store.detail = "The store cancelled it; not canceled here: " + " ".join(refusals)
        store.save(update_fields=["detail", "updated_at"])
        return Outcome.CANCEL_REFUSED, store.detail
    store.state, store.detail = StoreOrder.State.CANCELED, reason
    store.save(update_fields=["state", "detail", "updated_at"])
    return Outcome.CANCELED, reason


def import_again(store_order_id: int) -> tuple[str, str]:
    """An operator's "Import again" of a store order that waits for its catalogue."""
    with transaction.atomic(durable=True):
        store = StoreOrder.objects.select_for_update().get(pk=store_order_id)
        if store.state != StoreOrder.State.NOT_IMPORTED:
            return store.state, f"{store.name} is already {store.get_state_display().lower()}."
        return import_store_order(store)


def import_waiting() -> int:
    """Import the store orders that waited for variants the catalogue now has; how many moved."""
    moved = 0
    waiting = StoreOrder.objects.filter(state=StoreOrder.State.NOT_IMPORTED)
    for pk in waiting.values_list("pk", flat=True):
        state, _ = import_again(pk)
        moved += state != StoreOrder.State.NOT_IMPORTED
    return moved


# --- fulfilments back to the store ----------------------------------------------------------------


def shipment_recorded(*, order: ProductionOrder, shipment: Shipment) -> None:
    """`settings.ORDER_SHIPPED`, in the transaction of a shipment recorded or its tracking
    corrected: a parcel of a store order is put on record to go back to the store (a correction:
    its new tracking), and its task queued (run after commit by the worker)."""
    store = StoreOrder.objects.filter(orders=order).first()
    if store is None:
        return
    from shopify.tasks import push_fulfilment

    push = FulfilmentPush.objects.select_for_update().filter(shipment=shipment).first()
    if push is None:
        push = FulfilmentPush.objects.create(shipment=shipment, order=order, store_order=store)
    elif push.tracking_sent == _tracking_key(shipment):
        return
    else:
        push.state, push.attempts, push.last_error = FulfilmentPush.State.PENDING, 0, ""
        push.save(update_fields=["state", "attempts", "last_error"])
    push_fulfilment.enqueue(push.pk)


def _tracking(shipment: Shipment) -> dict[str, str]:
    tracking = {"company": shipment.get_carrier_display(), "number": shipment.tracking_number}
    if shipment.tracking_url:
        tracking["url"] = shipment.tracking_url
    return tracking


def _tracking_key(shipment: Shipment) -> str:
    return "|".join(_tracking(shipment).values())


FULFILLMENT_ORDERS = """
query FulfillmentOrders($id: ID!) {
  order(id: $id) {
    id
    fulfillments(first: 50) { id trackingInfo { number } }
    fulfillmentOrders(first: 20) {
      nodes {
        id
        status
        lineItems(first: 100) {
          nodes { id remainingQuantity totalQuantity lineItem { id } }
        }
      }
    }
  }
}
"""

FULFILLMENT_TRACKING_UPDATE = """
mutation FulfillmentTrackingInfoUpdate(
  $fulfillmentId: ID!, $trackingInfoInput: FulfillmentTrackingInput!, $notifyCustomer: Boolean
) {
  fulfillmentTrackingInfoUpdate(
    fulfillmentId: $fulfillmentId, trackingInfoInput: $trackingInfoInput,
    notifyCustomer: $notifyCustomer
  ) {
    fulfillment { id trackingInfo { company number url } }
    userErrors { field message }
  }
}
"""

FULFILLMENT_CREATE = """
mutation FulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status trackingInfo { company number url } }
    userErrors { field message }
  }
}
"""

CLAIM_LEASE = timedelta(minutes=5)


def push_fulfilment(push_id: int, *, client: admin.AdminClient | None = None) -> str:
    """Send one parcel to the store as a fulfilment, once. The row is claimed first (two workers
    never send it together); the store's own fulfilments are checked for its tracking number
    before creating one (a worker that died after the store answered does not create a second);
    a failure that may pass is retried later with backoff, up to SHOPIFY_FULFILMENT_ATTEMPTS,
    then it is `failed` for an operator to retry."""
    now = timezone.now()
    claimed = FulfilmentPush.objects.filter(
        Q(pk=push_id, state__in=[FulfilmentPush.State.PENDING, FulfilmentPush.State.SENT])
        & (Q(sending_since__isnull=True) | Q(sending_since__lt=now - CLAIM_LEASE))
    ).update(sending_since=now)
    if not claimed:
        return "not pending"
    push = FulfilmentPush.objects.select_related("shipment", "store_order").get(pk=push_id)
    if push.state == FulfilmentPush.State.SENT and push.tracking_sent == _tracking_key(
        push.shipment
    ):
        # Sent, and the store has this tracking (a correction made while it was being sent is
        # read here and sent on).
        FulfilmentPush.objects.filter(pk=push_id).update(sending_since=None)
        return "sent already"
    push.attempts += 1
    try:
        gid = _send(push, client or admin.get_client())
    except admin.ShopifyError as exc:
        return _failed(push, exc)
    push.state, push.fulfillment_gid, push.sent_at = FulfilmentPush.State.SENT, gid, timezone.now()
    push.last_error, push.sending_since = "", None
    push.tracking_sent = _tracking_key(push.shipment)
    push.save(
        update_fields=[
            "state",
            "fulfillment_gid",
            "sent_at",
            "last_error",
            "attempts",
            "sending_since",
            "tracking_sent",
        ]
    )
    return "sent"


def _send(push: FulfilmentPush, client: admin.AdminClient) -> str:
    shipment = push.shipment
    if push.fulfillment_gid:
        return _update_tracking(push, client)
    data = client.execute(
        FULFILLMENT_ORDERS, {"id": push.store_order.order_gid}, operation="FulfillmentOrders"
    )
    order = data.get("order")
    if not isinstance(order, dict):
        raise admin.ShopifyError(f"The store has no order {push.store_order.order_gid}.")
    for fulfillment in order.get("fulfillments") or []:
        numbers = {t.get("number") for t in fulfillment.get("trackingInfo") or []}
        if shipment.tracking_number in numbers:
            return fulfillment["id"]  # sent before, its answer lost: not sent twice
    open_lines: dict[str, tuple[str, str, int]] = {}
    for fo in (order.get("fulfillmentOrders") or {}).get("nodes") or []:
        if fo.get("status") not in ("OPEN", "IN_PROGRESS"):
            continue
        for line in (fo.get("lineItems") or {}).get("nodes") or []:
            store_line = (line.get("lineItem") or {}).get("id")
            open_lines[store_line] = (fo["id"], line["id"], int(line.get("remainingQuantity") or 0))
    by_fo: dict[str, list[dict[str, Any]]] = {}
    missing = []
    for item in shipment.items.select_related("line_item__store_line"):
        store_line = getattr(item.line_item, "store_line", None)
        found = open_lines.get(store_line.line_item_gid) if store_line else None
        if found is None or found[2] < item.quantity:
            missing.append(f"{item.quantity} × {item.line_item.sku or item.line_item.size}")
            continue
        fo_id, fo_line_id, _ = found
        by_fo.setdefault(fo_id, []).append({"id": fo_line_id, "quantity": item.quantity})
    if missing:
        raise admin.ShopifyError(
            "The store has no open fulfilment order for " + ", ".join(missing) + "."
        )
    tracking = _tracking(shipment)
    data = client.execute(
        FULFILLMENT_CREATE,
        {
            "fulfillment": {
                "lineItemsByFulfillmentOrder": [
                    {"fulfillmentOrderId": fo_id, "fulfillmentOrderLineItems": lines}
                    for fo_id, lines in by_fo.items()
                ],
                "trackingInfo": tracking,
                "notifyCustomer": True,
            }
        },
        operation="FulfillmentCreate",
    )
    result = data.get("fulfillmentCreate") or {}
    errors = result.get("userErrors") or []
    if errors:
        raise admin.ShopifyError(
            "The store refused the fulfilment: " + "; ".join(str(e.get("message")) for e in errors)
        )
    fulfillment = result.get("fulfillment") or {}
    if not fulfillment.get("id"):
        raise admin.ShopifyError("The store created no fulfilment.", retryable=True)
    return fulfillment["id"]


def _update_tracking(push: FulfilmentPush, client: admin.AdminClient) -> str:
    """The store's fulfilment of a parcel whose tracking was corrected: its new tracking."""
    data = client.execute(
        FULFILLMENT_TRACKING_UPDATE,
        {
            "fulfillmentId": push.fulfillment_gid,
            "trackingInfoInput": _tracking(push.shipment),
            "notifyCustomer": True,
        },
        operation="FulfillmentTrackingInfoUpdate",
    )
    result = data.get("fulfillmentTrackingInfoUpdate") or {}
    if errors := result.get("userErrors") or []:
        raise admin.ShopifyError(
            "The store refused the tracking correction: "
            + "; ".join(str(e.get("message")) for e in errors)
        )
    return push.fulfillment_gid


def _failed(push: FulfilmentPush, error: admin.ShopifyError) -> str:
    push.last_error = str(error)[:2000]
    push.sending_since = None
    retry = error.retryable and push.attempts < settings.SHOPIFY_FULFILMENT_ATTEMPTS
    if retry:
        from shopify.tasks import push_fulfilment as task

        delay = settings.SHOPIFY_RETRY_DELAY * 2 ** (push.attempts - 1)
        task.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue(push.pk)
    else:
        push.state = FulfilmentPush.State.FAILED
        OrderNote.objects.create(
            order_id=push.shipment.order_id,
            author=None,
            body=(
                f"The fulfilment of {push.shipment} did not reach the store "
                f"({push.store_order.name}): {push.last_error} Retry it from this page."
            ),
        )
    push.save(update_fields=["state", "attempts", "last_error", "sending_since"])
    logger.warning("Shopify fulfilment %s: %s", push.pk, push.last_error)
    return "retrying" if retry else "failed"


def retry_fulfilment(push_id: int) -> bool:
    """An operator's retry of a failed fulfilment: queued again with fresh attempts."""
    from shopify.tasks import push_fulfilment as task

    with transaction.atomic(durable=True):
        changed = FulfilmentPush.objects.filter(
            pk=push_id, state=FulfilmentPush.State.FAILED
        ).update(state=FulfilmentPush.State.PENDING, attempts=0, sending_since=None)
        if changed:
            task.enqueue(push_id)
    return bool(changed)
