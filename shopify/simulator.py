"""A local stand-in for a Shopify store: its Admin GraphQL API (the queries and mutations this
app sends, answered in Shopify's shapes, with the query-cost extension) and its webhooks (paid
orders in the REST shape Shopify posts, signed with the real scheme).

`make run` (DEBUG, no SHOPIFY_STORE_DOMAIN) talks to `store` in-process; the tests serve a
`FakeStore` over HTTP on 127.0.0.1 (tests/shopify/fake_shopify.py). Never used without DEBUG
outside the tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def sign(body: bytes, secret: str) -> str:
    """X-Shopify-Hmac-Sha256 of a webhook body: base64 of its HMAC-SHA256 under the app's secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class FakeVariant:
    id: int
    sku: str
    price: str
    color: str
    size: str
    available: bool = True


@dataclass
class FakeProduct:
    id: int
    title: str
    variants: list[FakeVariant]
    image: str = ""
    status: str = "ACTIVE"
    updated_at: str = ""
    placements: list[dict] | None = None  # the printshop.placements metafield

    @property
    def gid(self) -> str:
        return f"gid://shopify/Product/{self.id}"


class FakeStore:
    """The store's state and its Admin GraphQL API. `fail_next`: HTTP statuses to answer the next
    requests with (a 503 outage); `throttle_next`: how many next queries answer THROTTLED."""

    COST = 10
    MAXIMUM = 2000.0
    RESTORE = 100.0

    def __init__(
        self, domain: str = "demo-store.myshopify.com", *, unique_orders: bool = False
    ) -> None:
        self.domain = domain
        self.products: dict[int, FakeProduct] = {}
        self.orders: dict[str, dict[str, Any]] = {}  # order gid -> {"fulfillment_orders": [...]}
        self.fulfillments: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.fail_next: list[int] = []
        self.throttle_next = 0
        self.user_errors_next: list[str] = []
        self.currency = "USD"
        self.available = self.MAXIMUM
        self.order_from_records: Callable[[str], dict[str, Any] | None] | None = None
        self.fulfillment_from_records: Callable[[str], dict[str, Any] | None] | None = None
        self._ids = itertools.count(5000)  # products and variants: the same in every process
        # Orders and their lines: `unique_orders` (the demo's store, whose orders are taken by
        # several processes) numbers them from the clock, so no two processes make one twice.
        start = int(time.time() * 1000) if unique_orders else 900_000
        self._order_ids = itertools.count(start)
        self._order_names = itertools.count(
            1001 + (start // 1000) % 8000 if unique_orders else 1001
        )
        self._lock = threading.Lock()

    # --- the store's data ------------------------------------------------------------------------

    def add_product(
        self,
        title: str,
        *,
        colors: Sequence[str] = ("Black", "White"),
        sizes: Sequence[str] = ("S", "M", "L"),
        price: str = "20.00",
        upcharges: Mapping[str, str] | None = None,
        placements: list[dict] | None = None,
        image: str = "https://cdn.shopify.example/tee.png",
    ) -> FakeProduct:
        with self._lock:
            product_id = next(self._ids)
            variants = []
            for color in colors:
                for size in sizes:
                    amount = float(price) + float((upcharges or {}).get(size, 0))
                    variants.append(
                        FakeVariant(
                            id=next(self._ids),
                            sku=f"ST{product_id}-{color[:3].upper()}-{size}",
                            price=f"{amount:.2f}",
                            color=color,
                            size=size,
                        )
                    )
            product = FakeProduct(
                product_id, title, variants, image, updated_at=now_iso(), placements=placements
            )
            self.products[product_id] = product
            return product

    def paid_order(
        self,
        lines: Sequence[tuple[FakeVariant | None, int, Mapping[str, str]]],
        *,
        name: str | None = None,
        shipping: Mapping[str, str] | None = None,
        shipping_line: str = "Standard",
    ) -> dict[str, Any]:
        """A paid order of these lines (variant — None for a product that is not printed here —,
        quantity, line-item properties), as Shopify's orders/paid webhook carries it; its
        fulfillment orders are kept for the Admin API."""
        with self._lock:
            order_id = next(self._order_ids)
            name = name or f"#{next(self._order_names)}"
            items = []
            for variant, quantity, properties in lines:
                line_id = next(self._order_ids)
                product = next((p for p in self.products.values() if variant in p.variants), None)
                items.append(
                    {
                        "id": line_id,
                        "admin_graphql_api_id": f"gid://shopify/LineItem/{line_id}",
                        "variant_id": variant.id if variant else None,
                        "product_id": product.id if product else None,
                        "title": product.title if product else "Gift card",
                        "sku": variant.sku if variant else "",
                        "quantity": quantity,
                        "price": variant.price if variant else "10.00",
                        "requires_shipping": variant is not None,
                        "properties": [{"name": k, "value": v} for k, v in properties.items()],
                    }
                )
            address = {
                "first_name": "Ada",
                "last_name": "Lovelace",
                "name": "Ada Lovelace",
                "address1": "1 Main St",
                "address2": "",
                "city": "Springfield",
                "province_code": "IL",
                "country_code": "US",
                "zip": "62701",
                "phone": "",
                **(shipping or {}),
            }
            stamp = now_iso()
            order = {
                "id": order_id,
                "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
                "name": name,
                "email": "ada@example.com",
                "created_at": stamp,
                "updated_at": stamp,
                "cancelled_at": None,
                "cancel_reason": None,
                "financial_status": "paid",
                "currency": self.currency,
                "total_price": "0.00",
                "line_items": items,
                "shipping_address": address,
                "shipping_lines": [{"title": shipping_line, "code": shipping_line}],
            }
            self.orders[order["admin_graphql_api_id"]] = {
                "fulfillment_orders": [_fulfillment_order(order_id, items, {})]
            }
            return order

    # --- the Admin GraphQL API -------------------------------------------------------------------

    def handle(self, body: Mapping[str, Any], token: str) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.requests.append({"body": dict(body), "token": token})
            if self.fail_next:
                status = self.fail_next.pop(0)
                return status, {"Retry-After": "0"}, b'{"errors":"Service unavailable"}'
            self.available = min(self.MAXIMUM, self.available + self.RESTORE)
            if self.throttle_next:
                self.throttle_next -= 1
                return self._answer(
                    {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]},
                    available=0.0,
                )
            operation = body.get("operationName") or ""
            variables = body.get("variables") or {}
            handler = {
                "Shop": lambda variables: {"shop": {"currencyCode": self.currency}},
                "Products": self._products,
                "Product": self._product,
                "FulfillmentOrders": self._fulfillment_orders,
                "FulfillmentCreate": self._fulfillment_create,
                "FulfillmentTrackingInfoUpdate": self._tracking_update,
            }.get(operation)
            if handler is None:
                return self._answer({"errors": [{"message": f"Unknown operation {operation}"}]})
            self.available -= self.COST
            return self._answer({"data": handler(variables)})

    def _answer(self, answer: dict, available: float | None = None) -> tuple[int, dict, bytes]:
        answer["extensions"] = {
            "cost": {
                "requestedQueryCost": self.COST,
                "actualQueryCost": self.COST,
                "throttleStatus": {
                    "maximumAvailable": self.MAXIMUM,
                    "currentlyAvailable": self.available if available is None else available,
                    "restoreRate": self.RESTORE,
                },
            }
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(answer).encode()

    def _product_node(self, product: FakeProduct) -> dict[str, Any]:
        colors = list(dict.fromkeys(v.color for v in product.variants))
        sizes = list(dict.fromkeys(v.size for v in product.variants))
        return {
            "id": product.gid,
            "title": product.title,
            "status": product.status,
            "updatedAt": product.updated_at,
            "featuredMedia": (
                {"preview": {"image": {"url": product.image}}} if product.image else None
            ),
            "options": [{"name": "Color", "values": colors}, {"name": "Size", "values": sizes}],
            "metafield": (
                {"value": json.dumps(product.placements)} if product.placements else None
            ),
            "variants": {
                "nodes": [
                    {
                        "id": f"gid://shopify/ProductVariant/{v.id}",
                        "sku": v.sku,
                        "price": v.price,
                        "availableForSale": v.available,
                        "selectedOptions": [
                            {"name": "Color", "value": v.color},
                            {"name": "Size", "value": v.size},
                        ],
                    }
                    for v in product.variants
                ],
                "pageInfo": {"hasNextPage": False, "endCursor": None},
            },
        }

    def _products(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        ordered = sorted(self.products.values(), key=lambda p: p.id)
        start = int(variables.get("after") or 0)
        first = int(variables.get("first") or 50)
        page = ordered[start : start + first]
        more = start + first < len(ordered)
        return {
            "products": {
                "nodes": [self._product_node(p) for p in page],
                "pageInfo": {
                    "hasNextPage": more,
                    "endCursor": str(start + first) if page else None,
                },
            }
        }

    def _product(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        product_id = int(str(variables.get("id", "")).rsplit("/", 1)[-1] or 0)
        product = self.products.get(product_id)
        return {"product": self._product_node(product) if product else None}

    def _fulfillment_orders(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        order = self.orders.get(variables.get("id"))
        if order is None and self.order_from_records is not None:
            # Another process took the order (the demo's webhook): rebuilt from what was recorded.
            order = self.order_from_records(str(variables.get("id")))
            if order is not None:
                self.fulfillments.extend(order.pop("fulfillments"))
                self.orders[str(variables["id"])] = order
        if order is None:
            return {"order": None}
        return {
            "order": {
                "id": variables["id"],
                "fulfillments": [
                    {
                        "id": f["id"],
                        "trackingInfo": [{"number": t["number"]} for t in f["trackingInfo"]],
                    }
                    for f in self.fulfillments
                    if f.get("order") == variables["id"]
                ],
                "fulfillmentOrders": {
                    "nodes": [
                        {
                            "id": fo["id"],
                            "status": fo["status"],
                            "lineItems": {"nodes": fo["lineItems"]},
                        }
                        for fo in order["fulfillment_orders"]
                    ]
                },
            }
        }

    def _tracking_update(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        fulfillment = next(
            (f for f in self.fulfillments if f["id"] == variables.get("fulfillmentId")), None
        )
        if fulfillment is None and self.fulfillment_from_records is not None:
            fulfillment = self.fulfillment_from_records(str(variables.get("fulfillmentId")))
            if fulfillment is not None:
                self.fulfillments.append(fulfillment)
        if fulfillment is None:
            return {
                "fulfillmentTrackingInfoUpdate": {
                    "fulfillment": None,
                    "userErrors": [{"field": ["fulfillmentId"], "message": "Not found"}],
                }
            }
        tracking = variables.get("trackingInfoInput") or {}
        fulfillment["trackingInfo"] = [
            {
                "company": tracking.get("company"),
                "number": tracking.get("number"),
                "url": tracking.get("url"),
            }
        ]
        answer = {"id": fulfillment["id"], "trackingInfo": fulfillment["trackingInfo"]}
        return {"fulfillmentTrackingInfoUpdate": {"fulfillment": answer, "userErrors": []}}

    def _fulfillment_create(self, variables: Mapping[str, Any]) -> dict[str, Any]:
        fulfillment = variables.get("fulfillment") or {}
        if self.user_errors_next:
            message = self.user_errors_next.pop(0)
            return {
                "fulfillmentCreate": {
                    "fulfillment": None,
                    "userErrors": [{"field": ["fulfillment"], "message": message}],
                }
            }
        by_id = {
            fo["id"]: fo for order in self.orders.values() for fo in order["fulfillment_orders"]
        }
        errors = []
        for group in fulfillment.get("lineItemsByFulfillmentOrder") or []:
            fo = by_id.get(group.get("fulfillmentOrderId"))
            if fo is None:
                errors.append("Fulfillment order does not exist.")
                continue
            lines = {line["id"]: line for line in fo["lineItems"]}
            for item in group.get("fulfillmentOrderLineItems") or []:
                line = lines.get(item.get("id"))
                if line is None or item.get("quantity", 0) > line["remainingQuantity"]:
                    errors.append("Invalid fulfillment order line item quantity requested.")
        if errors:
            return {
                "fulfillmentCreate": {
                    "fulfillment": None,
                    "userErrors": [{"field": ["fulfillment"], "message": m} for m in errors],
                }
            }
        for group in fulfillment["lineItemsByFulfillmentOrder"]:
            fo = by_id[group["fulfillmentOrderId"]]
            lines = {line["id"]: line for line in fo["lineItems"]}
            for item in group["fulfillmentOrderLineItems"]:
                lines[item["id"]]["remainingQuantity"] -= item["quantity"]
            if all(line["remainingQuantity"] == 0 for line in fo["lineItems"]):
                fo["status"] = "CLOSED"
            else:
                fo["status"] = "IN_PROGRESS"
        tracking = fulfillment.get("trackingInfo") or {}
        created = {
            "id": f"gid://shopify/Fulfillment/{next(self._order_ids)}",
            "status": "SUCCESS",
            "trackingInfo": [
                {
                    "company": tracking.get("company"),
                    "number": tracking.get("number"),
                    "url": tracking.get("url"),
                }
            ],
            "input": fulfillment,
            "order": next(
                (gid for gid, o in self.orders.items() if fo in o["fulfillment_orders"]), None
            ),
        }
        self.fulfillments.append(created)
        answer = {k: v for k, v in created.items() if k not in ("input", "order")}
        return {"fulfillmentCreate": {"fulfillment": answer, "userErrors": []}}


def _fulfillment_order(
    order_id: int, items: Sequence[Mapping[str, Any]], sent: Mapping[str, int]
) -> dict[str, Any]:
    """An order's one fulfillment order (ids derived from the order's and its lines')."""
    lines = [
        {
            "id": f"gid://shopify/FulfillmentOrderLineItem/{item['id']}",
            "lineItem": {"id": item["admin_graphql_api_id"]},
            "totalQuantity": item["quantity"],
            "remainingQuantity": item["quantity"] - sent.get(item["admin_graphql_api_id"], 0),
        }
        for item in items
    ]
    done = all(line["remainingQuantity"] <= 0 for line in lines)
    return {
        "id": f"gid://shopify/FulfillmentOrder/{order_id}",
        "status": "CLOSED" if done else ("IN_PROGRESS" if sent else "OPEN"),
        "lineItems": lines,
    }


def _order_from_database(gid: str) -> dict[str, Any] | None:
    """The demo store's memory across processes: the order as its webhook carried it, less what
    its fulfilments sent (shopify.models; the simulator runs only under DEBUG)."""
    from shopify.models import FulfilmentPush, StoreOrder

    store_order = StoreOrder.objects.filter(order_gid=gid).first()
    if store_order is None:
        return None
    items = [
        i
        for i in store_order.payload.get("line_items") or []
        if isinstance(i, dict) and "admin_graphql_api_id" in i
    ]
    sent: dict[str, int] = {}
    fulfillments = []
    pushes = FulfilmentPush.objects.filter(store_order=store_order, state="sent")
    for push in pushes.select_related("shipment"):
        fulfillments.append(
            {
                "id": push.fulfillment_gid,
                "order": gid,
                "trackingInfo": [{"number": push.shipment.tracking_number}],
            }
        )
        for item in push.shipment.items.select_related("line_item__store_line"):
            line = getattr(item.line_item, "store_line", None)
            if line is not None:
                sent[line.line_item_gid] = sent.get(line.line_item_gid, 0) + item.quantity
    return {
        "fulfillment_orders": [_fulfillment_order(store_order.payload["id"], items, sent)],
        "fulfillments": fulfillments,
    }


def _fulfillment_from_database(gid: str) -> dict[str, Any] | None:
    """A fulfilment another process created, as its record says."""
    from shopify.models import FulfilmentPush

    push = FulfilmentPush.objects.filter(fulfillment_gid=gid).select_related("store_order").first()
    if push is None:
        return None
    return {"id": gid, "order": push.store_order.order_gid, "trackingInfo": []}


# The store `make run` talks to (in-process, DEBUG only), with a demo product.
store = FakeStore(unique_orders=True)
store.order_from_records = _order_from_database
store.fulfillment_from_records = _fulfillment_from_database
DEMO_PRODUCT = store.add_product(
    "Store Classic Tee",
    colors=("Black", "White"),
    sizes=("S", "M", "L", "XL"),
    price="22.00",
    upcharges={"XL": "2.00"},
    placements=[
        {"code": "front", "width_in": "12", "height_in": "16", "unit_amount": 0},
        {"code": "back", "width_in": "12", "height_in": "16", "unit_amount": 500},
    ],
)


def transport(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, dict, bytes]:
    return store.handle(json.loads(body), headers.get("X-Shopify-Access-Token", ""))
