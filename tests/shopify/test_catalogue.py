"""The store's products become garments: synced page by page, idempotent, kept current."""

import pytest
from django.core.management import call_command

from production.models import Garment, ProductionOrder, Variant
from shopify import catalogue, client
from shopify.models import WebhookDelivery
from tests.shopify.conftest import deliver

pytestmark = pytest.mark.django_db


def test_sync_brings_products_in_and_a_second_run_changes_nothing(fake_shopify, capsys):
    for n in range(55):  # more than a page (50)
        fake_shopify.store.add_product(
            f"Tee {n}", colors=("Black",), sizes=("S", "XL"), upcharges={"XL": "2.00"}
        )
    fake_shopify.store.throttle_next = 1  # the first query is throttled: waited out, retried
    call_command("sync_shopify")
    assert "55 added, 0 changed, 0 retired" in capsys.readouterr().out
    assert Garment.objects.count() == 55
    tee = Garment.objects.get(name="Tee 0")
    xl = Variant.objects.get(garment=tee, size="XL")
    assert xl.shopify_variant_gid.startswith("gid://shopify/ProductVariant/")
    assert (tee.base_price, xl.upcharge, xl.sku) == (
        2000,
        200,
        f"ST{tee.shopify_gid.rsplit('/', 1)[1]}-BLA-XL",
    )
    assert tee.placements.get(code="back").unit_amount == 500  # the settings' mapping
    operations = [r["body"]["operationName"] for r in fake_shopify.store.requests]
    # the store's currency (throttled, asked again), then the products: page 1, page 2
    assert operations == ["Shop", "Shop", "Products", "Products"]
    assert tee.currency == "usd"

    call_command("sync_shopify")
    assert "0 added, 0 changed, 0 retired, 55 unchanged" in capsys.readouterr().out


def test_a_product_gone_from_the_store_is_retired_and_its_orders_keep_it(
    client, store, task_worker
):
    product = next(iter(store.products.values()))
    variant = product.variants[0]
    deliver(
        client,
        "orders/paid",
        store.paid_order([(variant, 1, {"Design": "https://x.example/a.png"})]),
    )
    task_worker()
    response = deliver(client, "products/delete", {"id": product.id})
    assert response.status_code == 200
    task_worker()
    garment = Garment.objects.get(shopify_gid=product.gid)
    assert not garment.is_active
    assert ProductionOrder.objects.get().garment == garment
    assert WebhookDelivery.objects.get(topic="products/delete").outcome == "product_retired"


def test_an_update_older_than_the_one_applied_is_ignored(client, store, task_worker):
    product = next(iter(store.products.values()))
    product.title = "Renamed Tee"
    deliver(client, "products/update", {"id": product.id, "updated_at": "2001-01-01T00:00:00Z"})
    task_worker()
    assert WebhookDelivery.objects.get().outcome == "stale"
    assert Garment.objects.get(shopify_gid=product.gid).name == "Store Tee"

    product.updated_at = "2099-01-01T00:00:00Z"
    deliver(client, "products/update", {"id": product.id, "updated_at": product.updated_at})
    task_worker()
    assert Garment.objects.get(shopify_gid=product.gid).name == "Renamed Tee"


def test_a_store_that_stays_down_fails_the_sync_loudly(fake_shopify):
    fake_shopify.store.fail_next = [503] * 10
    with pytest.raises(client.ShopifyError, match="503"):
        catalogue.sync_catalogue(client.get_client())
    assert not Garment.objects.exists()


def test_a_product_webhook_waits_out_a_store_outage(client, store, task_worker, settings):
    from tests.task_queue import time_passes

    product = next(iter(store.products.values()))
    product.title = "Store Tee, heavier"
    product.updated_at = "2099-01-01T00:00:00Z"
    store.fail_next = [503] * 5  # the client's own retries all fail
    deliver(client, "products/update", {"id": product.id, "updated_at": product.updated_at})
    assert task_worker() == ["retrying"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.outcome == "queued"  # not lost
    time_passes()
    task_worker()
    delivery.refresh_from_db()
    assert delivery.outcome == "product_synced"
    assert Garment.objects.get(shopify_gid=product.gid).name == "Store Tee, heavier"


def test_a_store_in_euros_prices_its_garments_in_euros(fake_shopify):
    fake_shopify.store.currency = "EUR"
    fake_shopify.store.add_product("Euro Tee", price="25.00")
    call_command("sync_shopify")
    garment = Garment.objects.get(name="Euro Tee")
    assert (garment.currency, garment.base_price) == ("eur", 2500)
