"""The order JSON shows shipments; operators' scripts record them with POST .../shipments."""

import pytest

from production.lifecycle import EventSource, OrderState, ProductionStatus
from production.models import Shipment
from production.services.shipping import (
    ShipLine,
    announce_pickup,
    correct_shipment,
    record_shipment,
)
from tests.factories import make_order

pytestmark = pytest.mark.django_db

UPS = "1Z999AA10123456784"


@pytest.fixture
def ready(garment, customer):
    return make_order(
        owner=customer,
        garment=garment,
        sizes=[("M", 2), ("L", 1)],
        state=OrderState.IN_PRODUCTION,
        step=ProductionStatus.READY,
    )


def url(order) -> str:
    return f"/api/production/{order.pk}/shipments"


def test_the_customer_sees_shipments_and_progress(customer_api, ready, operator):
    m = ready.line_items.get(size="M")
    record_shipment(
        order=ready.pk,
        carrier="ups",
        tracking_number=UPS,
        items=[ShipLine(m.pk, 2)],
        actor=operator,
        source=EventSource.OPERATOR,
    )
    order = customer_api.get(f"/api/production/{ready.pk}").json()["order"]
    assert (order["shippedQuantity"], order["totalQuantity"]) == (2, 3)
    assert order["orderStatus"] == "in_production"
    [shipment] = order["shipments"]
    assert shipment == {
        "id": str(Shipment.objects.get().pk),
        "kind": "shipment",
        "carrier": "ups",
        "carrierName": "UPS",
        "trackingNumber": UPS,
        "trackingUrl": f"https://www.ups.com/track?tracknum={UPS}",
        "shippedOn": shipment["shippedOn"],
        "items": [{"lineItemId": str(m.pk), "size": "M", "quantity": 2}],
    }
    assert order["events"][-1]["status"] == "Shipped"


def test_an_order_with_no_shipment_shows_an_empty_list(customer_api, ready):
    order = customer_api.get(f"/api/production/{ready.pk}").json()["order"]
    assert order["shipments"] == [] and order["shippedQuantity"] == 0
    assert order["pickupReadyAt"] is None


def test_an_operator_records_a_shipment(operator_api, ready):
    m = ready.line_items.get(size="M")
    response = operator_api.post(
        url(ready),
        {"carrier": "ups", "trackingNumber": UPS, "items": [{"lineItemId": m.pk, "quantity": 1}]},
        format="json",
    )
    assert response.status_code == 201
    order = response.json()["order"]
    assert order["shippedQuantity"] == 1
    assert order["shipments"][0]["trackingNumber"] == UPS


def test_without_items_everything_left_ships_and_the_order_is_fulfilled(operator_api, ready):
    response = operator_api.post(
        url(ready), {"carrier": "usps", "trackingNumber": "EA123456785US"}, format="json"
    )
    assert response.status_code == 201
    order = response.json()["order"]
    assert order["orderStatus"] == "fulfilled"
    assert order["shippedQuantity"] == order["totalQuantity"] == 3


def test_over_shipping_is_a_400_with_details(operator_api, ready):
    m = ready.line_items.get(size="M")
    response = operator_api.post(
        url(ready),
        {"carrier": "ups", "trackingNumber": UPS, "items": [{"lineItemId": m.pk, "quantity": 3}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "Invalid request",
        "details": {"items": ["Size M: 3 asked, but only 2 of 2 left to ship."]},
    }
    assert not Shipment.objects.exists()


def test_a_bad_tracking_number_is_a_400_naming_the_field(operator_api, ready):
    response = operator_api.post(
        url(ready), {"carrier": "fedex", "trackingNumber": "123"}, format="json"
    )
    assert response.status_code == 400
    assert "is not a FedEx tracking number" in response.json()["details"]["trackingNumber"][0]


def test_shipping_before_ready_answers_the_rulebooks_reason(operator_api, garment):
    order = make_order(garment=garment, state=OrderState.APPROVED)
    response = operator_api.post(
        url(order), {"carrier": "ups", "trackingNumber": UPS}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["details"]["shipment"] == [
        f"{order.reference}: Start production first: the order is Approved."
    ]


def test_customers_cannot_record_shipments(customer_api, ready):
    response = customer_api.post(
        url(ready), {"carrier": "ups", "trackingNumber": UPS}, format="json"
    )
    assert response.status_code == 403
    assert not Shipment.objects.exists()


def test_anonymous_is_401_and_unknown_order_404(anon_api, operator_api):
    assert anon_api.post("/api/production/x/shipments", {}, format="json").status_code == 401
    missing = "/api/production/00000000-0000-0000-0000-000000000000/shipments"
    response = operator_api.post(missing, {"carrier": "ups", "trackingNumber": UPS}, format="json")
    assert response.status_code == 404


def test_openapi_documents_shipments(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    post = schema["paths"]["/api/production/{order_id}/shipments"]["post"]
    assert {"201", "400", "401", "403", "404"} <= set(post["responses"])
    order = schema["components"]["schemas"]["OrderOutput"]["properties"]
    assert {"shipments", "shippedQuantity", "pickupReadyAt"} <= set(order)
    shipment = schema["components"]["schemas"]["ShipmentOutput"]["properties"]
    assert {"carrier", "trackingNumber", "trackingUrl", "items", "shippedOn", "kind"} <= set(
        shipment
    )


def test_the_cold_read_costs_the_same_with_one_or_many_shipments(customer_api, garment, customer):
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def shipped(parcels: int):
        order = make_order(
            owner=customer,
            garment=garment,
            sizes=[(size, 1) for size in ("S", "M", "L")],
            state=OrderState.IN_PRODUCTION,
            step=ProductionStatus.READY,
        )
        for line, number in zip(
            order.line_items.all()[:parcels],
            ("123456789012", "123456789013", "123456789014"),
            strict=False,
        ):
            record_shipment(
                order=order.pk,
                carrier="fedex",
                tracking_number=number,
                items=[ShipLine(line.pk, 1)],
                actor=None,
            )
        return order

    def queries(order) -> int:
        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            assert customer_api.get(f"/api/production/{order.pk}").status_code == 200
        return len(ctx.captured_queries)

    # token, order, line items, designs, the garment's colours, their variants and its
    # placements, events, proofs, shipments, their items (with their lines), artwork reports
    assert queries(shipped(1)) == queries(shipped(3)) == 12


def test_a_cached_read_shows_the_shipment_at_once(customer_api, ready, operator):
    before = customer_api.get(f"/api/production/{ready.pk}").json()["order"]  # warms the cache
    assert before["shipments"] == []
    record_shipment(order=ready.pk, carrier="ups", tracking_number=UPS, actor=operator)
    after = customer_api.get(f"/api/production/{ready.pk}").json()["order"]
    assert after["shipments"][0]["trackingNumber"] == UPS
    assert after["orderStatus"] == "fulfilled"


def test_corrections_and_pickup_notices_reach_the_cached_read(
    customer_api, ready, operator, settings
):
    settings.PICKUP_ADDRESS = "12 Mill Lane"
    m = ready.line_items.get(size="M")
    shipment = record_shipment(
        order=ready.pk, carrier="ups", tracking_number=UPS, items=[ShipLine(m.pk, 1)], actor=None
    )
    customer_api.get(f"/api/production/{ready.pk}")
    correct_shipment(
        order=ready.pk,
        shipment_id=shipment.pk,
        carrier="usps",
        tracking_number="EA123456785US",
        actor=operator,
    )
    announce_pickup(order=ready.pk, actor=operator)
    order = customer_api.get(f"/api/production/{ready.pk}").json()["order"]
    assert order["shipments"][0]["carrier"] == "usps"
    assert order["pickupReadyAt"] is not None
    assert [e["status"] for e in order["events"][-2:]] == ["Shipment corrected", "Ready for pickup"]
