"""Shopify delivering one store order several times at once: made once, every delivery answered."""

import json

import pytest
from django.db import connection

from production.models import ProductionOrder
from shopify import catalogue, client
from shopify.models import StoreOrder, WebhookDelivery
from shopify.services import process_delivery, receive_webhook
from tests.concurrency import run_at_once
from tests.shopify.conftest import signed

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


@pytest.fixture
def paid(fake_shopify):
    product = fake_shopify.store.add_product("Store Tee")
    catalogue.sync_catalogue(client.get_client())
    return fake_shopify.store.paid_order(
        [(product.variants[0], 1, {"Design": "https://cdn.example.com/f.png"})]
    )


def headers(body_hmac: str, webhook_id: str) -> dict[str, str]:
    return {
        "X-Shopify-Topic": "orders/paid",
        "X-Shopify-Hmac-Sha256": body_hmac,
        "X-Shopify-Webhook-Id": webhook_id,
    }


def test_one_webhook_delivered_six_times_at_once_is_recorded_once(paid):
    body, hmac = signed(paid)
    jobs = [lambda: receive_webhook(body=body, headers=headers(hmac, "wh-same")).outcome] * 6
    outcomes, errors = run_at_once(jobs)
    assert errors == []
    assert sorted(outcomes) == ["duplicate"] * 5 + ["queued"]
    assert WebhookDelivery.objects.count() == 1


def test_two_webhook_ids_of_one_order_acted_on_at_once_make_one_order(paid):
    body, hmac = signed(json.loads(json.dumps(paid)))
    ids = [receive_webhook(body=body, headers=headers(hmac, f"wh-{n}")).delivery_id for n in (1, 2)]
    outcomes, errors = run_at_once([lambda pk=pk: process_delivery(pk) for pk in ids])
    assert errors == []
    assert sorted(outcomes) == ["imported", "unchanged"]
    assert ProductionOrder.objects.count() == 1
    assert StoreOrder.objects.count() == 1
