import base64
import hashlib
import hmac
import json
import uuid

import pytest

from shopify import catalogue, client
from tests.shopify.fake_shopify import FakeShopify

SECRET = "shpss_test_secret"


@pytest.fixture
def fake_shopify(settings, monkeypatch):
    settings.SHOPIFY_API_SECRET = SECRET
    settings.SHOPIFY_ADMIN_TOKEN = "shpat_test"
    settings.SHOPIFY_STORE_DOMAIN = "test-store.myshopify.com"
    fake = FakeShopify(settings.SHOPIFY_API_VERSION).start()
    settings.SHOPIFY_API_BASE = fake.url
    monkeypatch.setattr(client, "BACKOFF_SECONDS", 0.01)
    yield fake
    fake.stop()


@pytest.fixture
def store(fake_shopify, db):
    """The fake store with a tee (black/white × S/M/L, back print +$5) synced into the catalogue."""
    fake_shopify.store.add_product(
        "Store Tee",
        placements=[
            {"code": "front", "width_in": "12", "height_in": "16", "unit_amount": 0},
            {"code": "back", "width_in": "12", "height_in": "16", "unit_amount": 500},
        ],
    )
    catalogue.sync_catalogue(client.get_client())
    fake_shopify.store.requests.clear()
    return fake_shopify.store


def signed(payload: dict | bytes, *, secret: str = SECRET) -> tuple[bytes, str]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return body, base64.b64encode(digest).decode()


def deliver(
    client, topic: str, payload, *, webhook_id: str | None = None, secret=SECRET, hmac_header=None
):
    body, signature = signed(payload, secret=secret)
    headers = {
        "HTTP_X_SHOPIFY_TOPIC": topic,
        "HTTP_X_SHOPIFY_WEBHOOK_ID": webhook_id or str(uuid.uuid4()),
        "HTTP_X_SHOPIFY_SHOP_DOMAIN": "test-store.myshopify.com",
        "HTTP_X_SHOPIFY_API_VERSION": "2025-07",
    }
    if hmac_header is not False:
        headers["HTTP_X_SHOPIFY_HMAC_SHA256"] = hmac_header or signature
    return client.post("/shopify/webhooks/", body, content_type="application/json", **headers)
