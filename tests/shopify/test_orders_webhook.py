"""A paid store order reaches production by itself: signed, recorded once, made by the task."""

import json

import pytest

from production.lifecycle import Delivery, OrderState, Priority
from production.models import OrderNote, ProductionOrder
from production.services.orders import update_order
from shopify.models import StoreOrder, WebhookDelivery
from tests.shopify.conftest import deliver

pytestmark = pytest.mark.django_db

FRONT = "https://cdn.example.com/front.png"
BACK = "https://cdn.example.com/back.png"


def variant(store, color="Black", size="M"):
    product = next(iter(store.products.values()))
    return next(v for v in product.variants if v.color == color and v.size == size)


def test_a_signed_paid_order_becomes_a_submitted_production_order(client, store, task_worker):
    paid = store.paid_order(
        [
            (variant(store), 2, {"Design": FRONT, "Back design": BACK}),
            (None, 1, {}),  # a gift card: not printed here
        ],
        name="#1001",
    )
    response = deliver(client, "orders/paid", paid)
    assert response.status_code == 200
    assert response.json()["outcome"] == "queued"
    assert not ProductionOrder.objects.exists()  # the work is the task's

    task_worker()

    order = ProductionOrder.objects.get()
    assert order.status == OrderState.SUBMITTED
    assert order.external_reference == "#1001"
    assert order.priority == Priority.STANDARD
    assert order.design_url == FRONT
    assert {d.placement.code: d.url for d in order.designs.all()} == {"front": FRONT, "back": BACK}
    [line] = order.line_items.all()
    assert (line.color.name, line.size, line.quantity) == ("Black", "M", 2)
    assert order.delivery == Delivery.SHIPPING
    assert order.shipping_address.city == "Springfield"
    assert order.shipping_address.postal_code == "62701"
    assert order.events.filter(source="store").count() == 2  # created, then paid
    assert StoreOrder.objects.get().state == StoreOrder.State.IMPORTED


def test_the_store_reference_shows_beside_ours(client, store, task_worker, operator):
    deliver(client, "orders/paid", store.paid_order([(variant(store), 1, {"Design": FRONT})]))
    task_worker()
    order = ProductionOrder.objects.get()
    client.force_login(operator)
    page = client.get(f"/ops/orders/{order.pk}/").content.decode()
    assert order.reference in page and order.external_reference in page


def test_a_duplicate_delivery_and_a_redelivery_make_one_order(client, store, task_worker):
    paid = store.paid_order([(variant(store), 1, {"Design": FRONT})])
    first = deliver(client, "orders/paid", paid, webhook_id="wh-1")
    again = deliver(client, "orders/paid", paid, webhook_id="wh-1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["outcome"] == "duplicate"
    task_worker()
    deliver(client, "orders/paid", paid, webhook_id="wh-2")  # same order, another webhook id
    task_worker()
    assert ProductionOrder.objects.count() == 1
    assert WebhookDelivery.objects.get(webhook_id="wh-2").outcome == "unchanged"


def test_a_missing_design_puts_the_order_on_hold_with_the_reason(client, store, task_worker):
    deliver(client, "orders/paid", store.paid_order([(variant(store), 1, {"Back design": BACK})]))
    task_worker()
    order = ProductionOrder.objects.get()
    assert order.status == OrderState.SUBMITTED
    assert order.priority == Priority.HOLD
    [note] = OrderNote.objects.filter(order=order)
    assert "no front design" in note.body and "'Design'" in note.body
    assert StoreOrder.objects.get().state == StoreOrder.State.HELD


def test_a_design_that_is_not_a_web_address_holds_the_order(client, store, task_worker):
    deliver(
        client,
        "orders/paid",
        store.paid_order([(variant(store), 1, {"Design": FRONT, "Back design": "file:///x"})]),
    )
    task_worker()
    order = ProductionOrder.objects.get()
    assert order.priority == Priority.HOLD
    assert "not a web address" in order.notes_log.get().body


def test_an_unknown_variant_waits_in_words_and_is_imported_once_known(client, store, task_worker):
    from shopify import services

    product = next(iter(store.products.values()))
    unknown = store.add_product("New Hoodie").variants[0]
    paid = store.paid_order([(unknown, 1, {"Design": FRONT})], name="#2001")
    deliver(client, "orders/paid", paid)
    task_worker()
    assert not ProductionOrder.objects.exists()
    waiting = StoreOrder.objects.get()
    assert waiting.state == StoreOrder.State.NOT_IMPORTED
    assert "is not in the catalogue" in waiting.detail and "sync_shopify" in waiting.detail
    assert product  # the tee stays

    from shopify import catalogue
    from shopify import client as admin

    catalogue.sync_catalogue(admin.get_client())
    assert services.import_waiting() == 1
    order = ProductionOrder.objects.get()
    assert order.external_reference == "#2001" and order.garment.name == "New Hoodie"


def test_an_address_the_shop_cannot_use_holds_the_order_instead_of_losing_it(
    client, store, task_worker
):
    paid = store.paid_order(
        [(variant(store), 1, {"Design": FRONT})], shipping={"country_code": "ZZ"}
    )
    deliver(client, "orders/paid", paid)
    task_worker()
    order = ProductionOrder.objects.get()
    assert order.priority == Priority.HOLD
    assert order.delivery == Delivery.UNKNOWN
    assert "delivery could not be used" in order.notes_log.get().body


def test_a_store_cancel_cancels_an_order_not_yet_printing(client, store, task_worker):
    paid = store.paid_order([(variant(store), 1, {"Design": FRONT})])
    deliver(client, "orders/paid", paid)
    task_worker()
    deliver(client, "orders/cancelled", {**paid, "cancel_reason": "customer"})
    task_worker()
    order = ProductionOrder.objects.get()
    assert order.status == OrderState.CANCELED
    assert StoreOrder.objects.get().state == StoreOrder.State.CANCELED


def test_a_store_cancel_of_an_order_in_production_tells_the_operators(
    client, store, task_worker, operator
):
    paid = store.paid_order([(variant(store), 1, {"Design": FRONT})])
    deliver(client, "orders/paid", paid)
    task_worker()
    order = ProductionOrder.objects.get()
    update_order(order=order, actor=operator, source="operator", status=OrderState.APPROVED)
    update_order(order=order, actor=operator, source="operator", status=OrderState.IN_PRODUCTION)
    deliver(client, "orders/cancelled", {**paid, "cancel_reason": "customer"})
    task_worker()
    order.refresh_from_db()
    assert order.status == OrderState.IN_PRODUCTION
    note = order.notes_log.get()
    assert "The store cancelled" in note.body and "not canceled here" in note.body
    assert WebhookDelivery.objects.filter(outcome="cancel_refused").exists()


def test_a_cancel_that_overtakes_the_payment_makes_nothing(client, store, task_worker):
    paid = store.paid_order([(variant(store), 1, {"Design": FRONT})])
    deliver(client, "orders/cancelled", paid)
    deliver(client, "orders/paid", paid)
    task_worker()
    assert not ProductionOrder.objects.exists()
    assert StoreOrder.objects.get().state == StoreOrder.State.CANCELED


@pytest.mark.parametrize(
    ("secret", "hmac_header"),
    [("shpss_test_secret", False), ("another_secret", None), ("shpss_test_secret", "bm90IGl0")],
)
def test_unsigned_or_wrongly_signed_deliveries_are_refused_401(client, store, secret, hmac_header):
    paid = store.paid_order([(variant(store), 1, {"Design": FRONT})])
    response = deliver(client, "orders/paid", paid, secret=secret, hmac_header=hmac_header)
    assert response.status_code == 401
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        json.dumps({"id": 1, "name": "#1", "line_items": "many"}).encode(),
        json.dumps({"id": 1, "name": "#1", "line_items": [{"id": 2, "quantity": -1}]}).encode(),
        json.dumps({"id": {"$gt": 1}, "name": "#1", "line_items": []}).encode(),
        b'{"id": 1, "name": "#1", "line_items": [' + b"[" * 5000 + b"]" * 5000 + b"]}",
    ],
)
def test_malformed_signed_payloads_are_refused_400_and_change_nothing(client, store, body):
    response = deliver(client, "orders/paid", body)
    assert response.status_code == 400
    assert "error" in response.json()
    assert not WebhookDelivery.objects.exists()


def test_the_ops_list_shows_and_finds_the_store_reference(client, store, task_worker, operator):
    from tests.factories import make_order

    here = make_order()  # an order placed here, which the search must leave out
    deliver(client, "orders/paid", store.paid_order([(variant(store), 1, {"Design": FRONT})]))
    task_worker()
    order = ProductionOrder.objects.get(external_reference__startswith="#")
    client.force_login(operator)
    page = client.get("/ops/orders").content.decode()
    assert order.external_reference in page
    found = client.get("/ops/orders", {"q": order.external_reference}).content.decode()
    assert order.reference in found
    assert here.reference in page and here.reference not in found


def test_a_store_orders_designs_get_the_artwork_check(client, store, task_worker):
    from artwork.models import PreflightReport

    deliver(
        client,
        "orders/paid",
        store.paid_order([(variant(store), 1, {"Design": FRONT, "Back design": BACK})]),
    )
    task_worker()
    order = ProductionOrder.objects.get()
    checked = set(PreflightReport.objects.filter(order=order).values_list("url", flat=True))
    assert checked == {FRONT, BACK}
