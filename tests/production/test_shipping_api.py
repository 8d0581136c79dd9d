"""The ship-to address through the API: accepted on create (optional: the reference request still
works), shown to the order's owner and operators, never to others, nor in the operators' list
frames; documented in the OpenAPI schema."""

import json

import pytest

from production.api.serializers import OrderOutput
from production.lifecycle import EventSource, OrderState
from production.models import ProductionOrder
from production.order_json import order_json
from production.realtime.frames import frames_for
from production.selectors import get_order_detail
from production.services.orders import transition_order
from tests.factories import make_order

pytestmark = pytest.mark.django_db

US = {
    "name": "Ada Lovelace",
    "address1": "19749 Dearborn St",
    "city": "Chatsworth",
    "stateCode": "CA",
    "countryCode": "US",
    "zip": "91311",
    "phone": "+1 555 0100",
}


@pytest.fixture(autouse=True)
def rates(settings):
    settings.SHIPPING_COUNTRIES = ["US", "GB"]
    settings.SHIPPING_RATES = {"US": 500}
    settings.SHIPPING_RATE = 0
    settings.PICKUP_ADDRESS = ""


def create(api, garment, **extra):
    body = {
        "designUrl": "https://cdn.example.com/d.png",
        "garmentId": garment.shopify_gid,
        "sizes": [{"size": "M", "quantity": 1}],
        **extra,
    }
    return api.post("/api/production", body, format="json")


def test_an_order_with_an_address_ships_there_and_its_owner_and_operators_read_it(
    customer_api, operator_api, other_api, garment
):
    created = create(customer_api, garment, shipping=US)
    assert created.status_code == 201
    order_id = created.json()["orderId"]

    mine = customer_api.get(f"/api/production/{order_id}").json()["order"]
    assert mine["delivery"] == "shipping"
    assert mine["shipping"] == {**US, "address2": ""}
    assert mine["shippingAmount"] == 500
    assert mine["totalAmount"] == mine["subtotalAmount"] + 500
    operators = operator_api.get(f"/api/production/{order_id}").json()["order"]
    assert operators["shipping"]["zip"] == "91311"
    others = other_api.get(f"/api/production/{order_id}")
    assert others.status_code == 403 and "Chatsworth" not in others.content.decode()
    # Not in the list rows.
    rows = customer_api.get("/api/production").json()["orders"]
    assert "shipping" not in rows[0]
    assert rows[0]["delivery"] == "shipping"


def test_the_reference_request_still_works_without_an_address(customer_api, garment):
    created = create(customer_api, garment)
    assert created.status_code == 201
    order = customer_api.get(f"/api/production/{created.json()['orderId']}").json()["order"]
    assert (order["delivery"], order["shipping"], order["shippingAmount"]) == ("unknown", None, 0)


def test_a_bad_address_is_refused_next_to_its_field_and_nothing_is_made(customer_api, garment):
    refused = create(customer_api, garment, shipping={**US, "zip": "9131"})
    assert refused.status_code == 400
    assert refused.json()["details"]["shipping.zip"][0].startswith("Not a valid postal code for US")
    refused = create(customer_api, garment, shipping={**US, "countryCode": "BR"})
    assert "shipping.countryCode" in refused.json()["details"]
    refused = create(customer_api, garment, delivery="shipping")
    assert refused.status_code == 400 and "shipping" in refused.json()["details"]
    refused = create(customer_api, garment, delivery="pickup")
    assert refused.status_code == 400 and "delivery" in refused.json()["details"]
    assert not ProductionOrder.objects.exists()


def test_the_operators_list_frames_leave_the_address_out(
    customer, operator, django_capture_on_commit_callbacks, layer_sends, channel_layers
):
    order = make_order(owner=customer, state=OrderState.APPROVED, operator=operator, shipping=US)
    with django_capture_on_commit_callbacks(execute=True):
        transition_order(
            order=order, to=OrderState.IN_PRODUCTION, actor=operator, source=EventSource.OPERATOR
        )
    to_page, to_operators = (frames_for(message) for _, message in layer_sends)
    page = json.loads(to_page[0]["text"])
    assert page["order"]["shipping"]["city"] == "Chatsworth"
    (row,) = [json.loads(frame["text"]) for frame in to_operators]
    assert "shipping" not in row["order"] and "Chatsworth" not in to_operators[0]["text"]


def test_the_order_json_with_an_address_is_what_the_schema_documents(customer, client):
    order = get_order_detail(order_id=make_order(owner=customer, shipping=US).pk)
    assert order_json(order) == OrderOutput(order).data
    schema = client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    assert set(order_json(order)) == set(schema["OrderOutput"]["properties"])
    assert {"delivery", "shipping"} <= set(schema["CreateOrderInputRequest"]["properties"])
