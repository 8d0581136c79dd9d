"""A parcel of a store order goes back to the store as a fulfilment, with its tracking, once."""

import pytest

from production.lifecycle import EventSource, OrderState, ProductionStatus, walk_from_payment
from production.models import ProductionOrder
from production.services.orders import update_order
from production.services.shipping import ShipLine, record_shipment
from shopify.models import FulfilmentPush
from tests.shopify.conftest import deliver
from tests.task_queue import time_passes

pytestmark = pytest.mark.django_db

UPS = "1Z999AA10123456784"
FRONT = "https://cdn.example.com/front.png"


def ready_store_order(client, store, task_worker, operator, lines=None):
    product = next(iter(store.products.values()))
    black_m, white_l = product.variants[1], product.variants[5]
    paid = store.paid_order(
        lines or [(black_m, 2, {"Design": FRONT}), (white_l, 1, {"Design": FRONT})]
    )
    deliver(client, "orders/paid", paid)
    task_worker()
    order = ProductionOrder.objects.get()
    for change in walk_from_payment(OrderState.IN_PRODUCTION, ProductionStatus.READY):
        update_order(order=order, actor=operator, source=EventSource.OPERATOR, **change)
    store.requests.clear()
    return order, paid


def test_a_shipment_creates_the_fulfilment_with_its_tracking_and_items(
    client, store, task_worker, operator, fake_shopify
):
    order, _paid = ready_store_order(client, store, task_worker, operator)
    first_line = order.line_items.order_by("pk").first()
    record_shipment(
        order=order.pk,
        carrier="ups",
        tracking_number=UPS,
        items=[ShipLine(first_line.pk, 2)],
        actor=operator,
    )
    push = FulfilmentPush.objects.get()
    assert push.state == FulfilmentPush.State.PENDING

    task_worker()

    push.refresh_from_db()
    assert push.state == FulfilmentPush.State.SENT
    assert fake_shopify.operations() == ["FulfillmentOrders", "FulfillmentCreate"]
    [sent] = store.fulfillments
    assert sent["input"]["trackingInfo"]["company"] == "UPS"
    assert sent["input"]["trackingInfo"]["number"] == UPS
    [group] = sent["input"]["lineItemsByFulfillmentOrder"]
    [line] = group["fulfillmentOrderLineItems"]
    assert line["quantity"] == 2  # only this parcel's items
    assert push.fulfillment_gid == sent["id"]
    assert all(path.startswith("/admin/api/2025-07/graphql.json") for path in fake_shopify.paths)

    task_worker()  # nothing more to send
    assert len(store.fulfillments) == 1


def test_a_store_outage_is_retried_with_backoff(client, store, task_worker, operator):
    order, _ = ready_store_order(client, store, task_worker, operator)
    store.fail_next = [503] * 5  # every attempt of the first run fails
    record_shipment(order=order.pk, carrier="ups", tracking_number=UPS, actor=operator)
    task_worker()
    push = FulfilmentPush.objects.get()
    assert push.state == FulfilmentPush.State.PENDING
    assert "503" in push.last_error
    time_passes()
    task_worker()
    push.refresh_from_db()
    assert push.state == FulfilmentPush.State.SENT
    assert len(store.fulfillments) == 1


def test_a_refused_fulfilment_shows_on_the_ops_page_and_an_operator_retries_it(
    client, store, task_worker, operator
):
    order, _ = ready_store_order(client, store, task_worker, operator)
    store.user_errors_next = ["Fulfillment order is on hold."]
    record_shipment(order=order.pk, carrier="ups", tracking_number=UPS, actor=operator)
    task_worker()
    push = FulfilmentPush.objects.get()
    assert push.state == FulfilmentPush.State.FAILED
    client.force_login(operator)
    page = client.get(f"/ops/orders/{order.pk}/").content.decode()
    assert "Fulfillment order is on hold." in page
    assert "Retry sending to the store" in page

    response = client.post(f"/shopify/fulfilments/{push.pk}/retry")
    assert response.status_code == 302
    task_worker()
    push.refresh_from_db()
    assert push.state == FulfilmentPush.State.SENT
    assert (
        "Retry sending to the store" not in client.get(f"/ops/orders/{order.pk}/").content.decode()
    )


def test_a_fulfilment_whose_answer_was_lost_is_not_created_twice(
    client, store, task_worker, operator
):
    from shopify import services

    order, paid = ready_store_order(client, store, task_worker, operator)
    record_shipment(order=order.pk, carrier="ups", tracking_number=UPS, actor=operator)
    push = FulfilmentPush.objects.get()
    # The store created it, but the worker died before saving the answer.
    store.fulfillments.append(
        {
            "id": "gid://shopify/Fulfillment/77",
            "trackingInfo": [{"number": UPS}],
            "order": paid["admin_graphql_api_id"],
        }
    )
    assert services.push_fulfilment(push.pk) == "sent"
    push.refresh_from_db()
    assert push.fulfillment_gid == "gid://shopify/Fulfillment/77"
    assert "FulfillmentCreate" not in [r["body"]["operationName"] for r in store.requests]


def test_an_order_placed_here_sends_nothing_to_the_store(db, operator, garment, fake_shopify):
    from tests.factories import make_order

    order = make_order(state=OrderState.IN_PRODUCTION, step=ProductionStatus.READY)
    record_shipment(order=order.pk, carrier="ups", tracking_number=UPS, actor=operator)
    assert not FulfilmentPush.objects.exists()


def test_a_tracking_correction_reaches_the_stores_fulfilment(
    client, store, task_worker, operator, fake_shopify
):
    from production.services.shipping import correct_shipment

    order, _ = ready_store_order(client, store, task_worker, operator)
    shipment = record_shipment(order=order.pk, carrier="ups", tracking_number=UPS, actor=operator)
    task_worker()
    store.requests.clear()
    correct_shipment(
        order=order.pk,
        shipment_id=shipment.pk,
        carrier="fedex",
        tracking_number="123456789012",
        actor=operator,
    )
    task_worker()
    [sent] = store.fulfillments
    assert sent["trackingInfo"][0]["company"] == "FedEx"
    assert sent["trackingInfo"][0]["number"] == "123456789012"
    assert fake_shopify.operations() == ["FulfillmentTrackingInfoUpdate"]
    push = FulfilmentPush.objects.get()
    assert push.state == FulfilmentPush.State.SENT
    assert push.tracking_sent.startswith("FedEx|123456789012")
