"""The order JSON is built without DRF (`production.order_json`), and says exactly what the
OpenAPI schema's serializers document: field by field, value by value, for orders at every stage."""

import pytest
from django.test import override_settings

from production.api.serializers import OrderOutput, OrderSummaryOutput
from production.lifecycle import EventSource, OrderState, ProductionStatus
from production.order_json import order_json, order_summary_json
from production.selectors import get_order_detail
from production.services.messages import add_customer_message
from production.services.proofs import decide_proof
from production.services.shipping import ShipLine, record_shipment
from tests.factories import make_order, make_proof, operator_user

pytestmark = pytest.mark.django_db


def orders_at_every_stage(customer) -> list:
    draft = make_order(owner=customer)
    canceled = make_order(owner=customer, state=OrderState.CANCELED)
    proofed = make_order(owner=customer, state=OrderState.SUBMITTED)
    make_proof(proofed)
    decide_proof(
        order=proofed.pk, revision=1, decision="request_changes", comment="Bigger", actor=customer
    )
    make_proof(proofed, notes="Smaller, please")
    add_customer_message(
        order=proofed.pk, author=operator_user(), body="Sent", source=EventSource.OPERATOR
    )
    shipped = make_order(
        owner=customer, state=OrderState.IN_PRODUCTION, step=ProductionStatus.READY
    )
    line = shipped.line_items.first()
    record_shipment(
        order=shipped.pk,
        carrier="fedex",
        tracking_number="123456789012",
        items=[ShipLine(line.pk, 1)],
        actor=None,
    )
    return [get_order_detail(order_id=o.pk) for o in (draft, canceled, proofed, shipped)]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris"])
def test_the_order_json_is_what_the_schema_documents(customer, zone):
    with override_settings(TIME_ZONE=zone):
        for order in orders_at_every_stage(customer):
            assert order_json(order) == OrderOutput(order).data
            assert order_summary_json(order) == OrderSummaryOutput(order).data


def test_every_documented_field_is_there_and_no_other(client, customer):
    schema = client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    order = orders_at_every_stage(customer)[-1]
    assert set(order_json(order)) == set(schema["OrderOutput"]["properties"])
    assert set(order_summary_json(order)) == set(schema["OrderSummaryOutput"]["properties"])
