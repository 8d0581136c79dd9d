"""The demo's store: signed webhooks of the local store simulator, as Shopify sends them."""

from __future__ import annotations

import json
import uuid
from typing import Any

import urllib3
from django.conf import settings

from shopify import simulator
from shopify.services import Received, receive_webhook


def simulator_in_use() -> bool:
    """Whether this site talks to the local store simulator (DEBUG or SHOPIFY_SIMULATOR, and no
    store configured)."""
    return bool(
        (settings.DEBUG or settings.SHOPIFY_SIMULATOR)
        and not settings.SHOPIFY_STORE_DOMAIN
        and not settings.SHOPIFY_API_BASE
    )


def demo_paid_order(design_url: str | None, *, back_design_url: str | None = None) -> dict:
    """A paid order of the simulator's demo tee: a black M and a white L with these designs (no
    design: the order arrives on hold), and a sticker that is not printed here."""
    product = simulator.DEMO_PRODUCT
    black_m = next(v for v in product.variants if (v.color, v.size) == ("Black", "M"))
    white_l = next(v for v in product.variants if (v.color, v.size) == ("White", "L"))
    names = settings.SHOPIFY_DESIGN_PROPERTIES
    properties = {}
    if design_url:
        properties[names.get("front", "Design")] = design_url
    if back_design_url:
        properties[names.get("back", "Back design")] = back_design_url
    return simulator.store.paid_order(
        [(black_m, 2, properties), (white_l, 1, properties), (None, 1, {})],
        shipping={
            "name": "Sam Store",
            "address1": "500 Market St",
            "city": "Portland",
            "province_code": "OR",
            "zip": "97205",
        },
    )


def signed_headers(body: bytes, topic: str) -> dict[str, str]:
    return {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": simulator.sign(body, settings.SHOPIFY_API_SECRET),
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Shop-Domain": simulator.store.domain,
        "X-Shopify-API-Version": settings.SHOPIFY_API_VERSION,
        "Content-Type": "application/json",
    }


def send(payload: dict[str, Any], topic: str = "orders/paid") -> Received:
    """Deliver a signed webhook to this site's own handler (verified like any delivery)."""
    body = json.dumps(payload).encode()
    return receive_webhook(body=body, headers=signed_headers(body, topic))


def post(url: str, payload: dict[str, Any], topic: str = "orders/paid") -> tuple[int, str]:
    """POST a signed webhook to a running site, as Shopify would."""
    body = json.dumps(payload).encode()
    response = urllib3.request(
        "POST", url, body=body, headers=signed_headers(body, topic), timeout=10, retries=False
    )
    return response.status, response.data.decode(errors="replace")
