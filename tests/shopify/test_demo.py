"""`make run`'s store: the simulator, the demo webhook, and the store orders of seed_demo."""

import pytest
from django.core.management import call_command

from production.lifecycle import OrderState, Priority, ProductionStatus
from production.models import ProductionOrder
from shopify import simulator
from shopify.models import FulfilmentPush, StoreOrder

pytestmark = pytest.mark.django_db


@pytest.fixture
def store_simulator(settings):
    settings.DEBUG = True
    settings.SHOPIFY_STORE_DOMAIN = ""
    settings.SHOPIFY_API_BASE = ""
    settings.SHOPIFY_API_SECRET = "shpss_local_store_simulator"
    settings.PICKUP_ADDRESS = ""
    return simulator.store


def test_seed_demo_shows_a_store_order_and_its_fulfilment_going_back(store_simulator):
    call_command("seed_demo")
    call_command("seed_demo")  # nothing added the second time
    shipped, held = ProductionOrder.objects.filter(store_orders__isnull=False).order_by(
        "created_at"
    )
    assert shipped.external_reference.startswith("#")
    assert (shipped.status, shipped.production_status) == (
        OrderState.IN_PRODUCTION,
        ProductionStatus.READY,
    )
    push = FulfilmentPush.objects.get()
    assert push.state == FulfilmentPush.State.SENT
    assert any(f["id"] == push.fulfillment_gid for f in store_simulator.fulfillments)
    assert held.priority == Priority.HOLD
    notes = [note.body for note in held.notes_log.all()]
    assert len(notes) == 2 and all("no front design" in note for note in notes)  # each line
    assert StoreOrder.objects.count() == 2


def test_the_demo_command_sends_a_signed_order_the_worker_makes(
    store_simulator, task_worker, capsys
):
    call_command("shopify_demo_order")
    assert "delivered (queued)" in capsys.readouterr().out
    task_worker()
    order = ProductionOrder.objects.get()
    assert order.status == OrderState.SUBMITTED and order.external_reference


def test_the_demo_command_refuses_without_the_simulator(settings):
    from django.core.management.base import CommandError

    settings.DEBUG = False
    settings.SHOPIFY_SIMULATOR = False
    with pytest.raises(CommandError, match="Only with the store simulator"):
        call_command("shopify_demo_order")


def test_make_run_uses_the_simulator_with_debug_off(store_simulator, settings, task_worker):
    settings.DEBUG = False
    settings.SHOPIFY_SIMULATOR = True  # as `make run` sets it
    call_command("shopify_demo_order")
    task_worker()
    assert ProductionOrder.objects.get().external_reference


def test_the_simulator_remembers_an_order_another_process_took(store_simulator, operator):
    from production.lifecycle import EventSource, walk_from_payment
    from production.services.orders import update_order
    from production.services.shipping import record_shipment
    from shopify import demo, services

    call_command("sync_shopify")
    received = demo.send(demo.demo_paid_order("https://example.com/d.png"))
    services.process_delivery(received.delivery_id)
    order = ProductionOrder.objects.get()
    store_simulator.orders.clear()  # the worker's process never saw the webhook
    for change in walk_from_payment(OrderState.IN_PRODUCTION, ProductionStatus.READY):
        update_order(order=order, actor=operator, source=EventSource.OPERATOR, **change)
    shipment = record_shipment(
        order=order.pk, carrier="ups", tracking_number="1Z999AA10123456784", actor=operator
    )
    push = FulfilmentPush.objects.get(shipment=shipment)
    assert services.push_fulfilment(push.pk) == "sent"
    order_gid = push.store_order.order_gid
    [fo] = store_simulator.orders[order_gid]["fulfillment_orders"]
    remaining = [line["remainingQuantity"] for line in fo["lineItems"]]
    assert remaining == [0, 0, 1]  # the tees went; the sticker is not the print shop's
    assert fo["status"] == "IN_PROGRESS"
