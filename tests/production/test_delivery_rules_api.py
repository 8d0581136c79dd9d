"""The rulebook's delivery rules through the API (issue 23): an order the customer collects gets
no shipment, and the order JSON says how each order goes. (Pickups are recorded on the ops
pages: tests/ops/test_ship_to.py.)"""

import pytest

from production.lifecycle import OrderState, ProductionStatus
from production.models import FulfillmentEvent, Shipment
from tests.factories import make_order

pytestmark = pytest.mark.django_db

UPS = "1Z999AA10123456784"
ADDRESS = {
    "name": "Ada Lovelace",
    "address1": "19749 Dearborn St",
    "city": "Chatsworth",
    "stateCode": "CA",
    "countryCode": "US",
    "zip": "91311",
}


@pytest.fixture(autouse=True)
def shop(settings):
    settings.PICKUP_ADDRESS = "12 Mill Lane"


def ready(customer, garment, **delivery):
    return make_order(
        owner=customer,
        garment=garment,
        sizes=[("M", 2)],
        state=OrderState.IN_PRODUCTION,
        step=ProductionStatus.READY,
        **delivery,
    )


def ship(api, order):
    return api.post(
        f"/api/production/{order.pk}/shipments",
        {"carrier": "ups", "trackingNumber": UPS},
        format="json",
    )


def test_a_pickup_order_gets_no_shipment_in_the_rulebooks_words(operator_api, customer, garment):
    order = ready(customer, garment, delivery="pickup")

    response = ship(operator_api, order)

    assert response.status_code == 400
    assert response.json()["details"]["shipment"] == [
        f"{order.reference}: The customer collects this order at the shop: "
        "record the pickup instead."
    ]
    assert not Shipment.objects.exists()
    assert not FulfillmentEvent.objects.filter(order=order, kind="shipment").exists()
    body = operator_api.get(f"/api/production/{order.pk}").json()["order"]
    assert (body["delivery"], body["shipping"], body["shippedQuantity"]) == ("pickup", None, 0)


def test_an_order_to_ship_and_one_from_before_the_choice_ship(operator_api, customer, garment):
    to_ship = ready(customer, garment, shipping=ADDRESS)
    unknown = ready(customer, garment)

    assert ship(operator_api, to_ship).status_code == 201
    assert ship(operator_api, unknown).status_code == 201
    assert Shipment.objects.count() == 2
    body = operator_api.get(f"/api/production/{to_ship.pk}").json()["order"]
    assert (body["delivery"], body["orderStatus"]) == ("shipping", "fulfilled")
