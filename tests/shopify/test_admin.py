"""Support staff see the store's orders and fulfilments in the admin and act through services."""

import pytest
from django.core.management import call_command

from production.lifecycle import EventSource, OrderState, ProductionStatus, walk_from_payment
from production.models import ProductionOrder
from production.services.orders import update_order
from production.services.shipping import record_shipment
from shopify.models import FulfilmentPush, StoreOrder
from tests.shopify.conftest import deliver

pytestmark = pytest.mark.django_db

FRONT = "https://cdn.example.com/front.png"


@pytest.fixture
def support(client, django_user_model, settings):
    settings.PICKUP_ADDRESS = ""
    from ops.management.commands.seed_demo import support_group

    user = django_user_model.objects.create_user(
        username="s@example.com", email="s@example.com", password="x", is_staff=True
    )
    user.groups.add(support_group())
    client.force_login(user)
    return client


def test_support_sees_a_waiting_store_order_and_imports_it_once_the_catalogue_has_it(
    client, store, task_worker, support
):
    from shopify import catalogue
    from shopify import client as admin

    hoodie = store.add_product("Hoodie").variants[0]
    deliver(client, "orders/paid", store.paid_order([(hoodie, 1, {"Design": FRONT})], name="#3001"))
    task_worker()
    waiting = StoreOrder.objects.get()
    page = support.get("/admin/shopify/storeorder/").content.decode()
    assert "#3001" in page and "not in the catalogue" in page

    catalogue.sync_catalogue(admin.get_client())
    support.post(
        "/admin/shopify/storeorder/",
        {"action": "import_again", "_selected_action": [waiting.pk]},
    )
    waiting.refresh_from_db()
    assert waiting.state == StoreOrder.State.IMPORTED
    order = ProductionOrder.objects.get()
    page = support.get(f"/admin/production/productionorder/{order.pk}/change/").content.decode()
    assert "#3001" in page


def test_a_failed_fulfilment_shows_on_the_order_admin_and_is_retried_from_the_list(
    client, store, task_worker, support, operator
):
    product = next(iter(store.products.values()))
    deliver(client, "orders/paid", store.paid_order([(product.variants[0], 1, {"Design": FRONT})]))
    task_worker()
    order = ProductionOrder.objects.get()
    for change in walk_from_payment(OrderState.IN_PRODUCTION, ProductionStatus.READY):
        update_order(order=order, actor=operator, source=EventSource.OPERATOR, **change)
    store.user_errors_next = ["Fulfillment order is on hold."]
    record_shipment(
        order=order.pk, carrier="ups", tracking_number="1Z999AA10123456784", actor=operator
    )
    task_worker()
    push = FulfilmentPush.objects.get()
    page = support.get(f"/admin/production/productionorder/{order.pk}/change/").content.decode()
    assert "Fulfillment order is on hold." in page and "Retry from the failed fulfilments" in page

    support.post(
        "/admin/shopify/fulfilmentpush/", {"action": "retry", "_selected_action": [push.pk]}
    )
    task_worker()
    push.refresh_from_db()
    assert push.state == FulfilmentPush.State.SENT


def test_seed_demo_gives_support_the_store_logs(client, django_user_model, settings):
    settings.PICKUP_ADDRESS = ""
    call_command("seed_demo")
    support = django_user_model.objects.get(email="support@example.com")
    client.force_login(support)
    for path in ("storeorder", "webhookdelivery", "fulfilmentpush"):
        assert client.get(f"/admin/shopify/{path}/").status_code == 200
