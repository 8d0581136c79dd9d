import csv
import io

import pytest

from production.lifecycle import OrderState, Priority
from tests.factories import UserFactory, make_order

pytestmark = pytest.mark.django_db


def rows(response) -> list[dict[str, str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="orders.csv"'
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_is_the_filtered_list(ops_client, garment):
    ada = UserFactory(email="ada@example.com", first_name="Ada", last_name="Lovelace")
    rush = make_order(
        owner=ada,
        garment=garment,
        sizes=[("M", 2), ("XXL", 3)],
        priority=Priority.RUSH,
        state=OrderState.SUBMITTED,
    )
    make_order(garment=garment, state=OrderState.SUBMITTED)
    make_order(garment=garment, priority=Priority.RUSH)

    exported = rows(ops_client.get("/ops/orders/export.csv?priority=rush&status=submitted"))

    assert len(exported) == 1
    row = exported[0]
    assert row["Reference"] == rush.reference
    assert (row["Order state"], row["Production status"], row["Priority"]) == (
        "Submitted",
        "Queued",
        "Rush",
    )
    assert (row["Customer email"], row["Customer name"], row["Garment"]) == (
        "ada@example.com",
        "Ada Lovelace",
        "Classic Tee",
    )
    assert row["Sizes"] == "M × 2; XXL × 3"
    assert row["Techniques"] == "Direct to garment"
    assert row["Total quantity"] == "5"
    assert row["Total"] == f"{rush.total_amount / 100:.2f}"
    assert row["ETA days"] == "3"
    assert row["Due date"] == rush.due_date.isoformat()


def test_the_list_page_links_to_the_export_of_its_filters(ops_client):
    response = ops_client.get("/ops/orders?priority=rush&q=ada")
    assert response.context["export_url"] == "/ops/orders/export.csv?priority=rush&q=ada"


def test_the_csv_follows_the_sort_and_covers_every_page(ops_client, garment):
    orders = [make_order(garment=garment) for _ in range(25)]
    exported = rows(ops_client.get("/ops/orders/export.csv?sort=created"))
    assert [r["Reference"] for r in exported] == [o.reference for o in orders]


def test_spreadsheet_formulas_in_customer_text_are_neutralised(ops_client, garment):
    sneaky = UserFactory(email="x@example.com", first_name="=HYPERLINK(1)", last_name="")
    make_order(owner=sneaky, garment=garment)
    [row] = rows(ops_client.get("/ops/orders/export.csv"))
    assert row["Customer name"] == "'=HYPERLINK(1)"


def test_the_csv_has_carrier_and_tracking_columns(ops_client, garment, operator):
    from production.lifecycle import ProductionStatus
    from production.services.shipping import ShipLine, record_shipment

    ready = make_order(
        garment=garment,
        sizes=[("M", 2), ("L", 1)],
        state=OrderState.IN_PRODUCTION,
        step=ProductionStatus.READY,
    )
    m, large = ready.line_items.order_by("id")
    record_shipment(
        order=ready.pk,
        carrier="ups",
        tracking_number="1Z999AA10123456784",
        items=[ShipLine(m.pk, 2)],
        actor=operator,
    )
    record_shipment(
        order=ready.pk,
        carrier="fedex",
        tracking_number="123456789012",
        items=[ShipLine(large.pk, 1)],
        actor=operator,
    )
    make_order(garment=garment, state=OrderState.SUBMITTED)

    by_reference = {r["Reference"]: r for r in rows(ops_client.get("/ops/orders/export.csv"))}
    shipped = by_reference[ready.reference]
    assert shipped["Shipped quantity"] == "3"
    assert shipped["Carrier"] == "UPS; FedEx"
    assert shipped["Tracking"] == "1Z999AA10123456784; 123456789012"
    [unshipped] = [r for ref, r in by_reference.items() if ref != ready.reference]
    assert (unshipped["Shipped quantity"], unshipped["Carrier"], unshipped["Tracking"]) == (
        "0",
        "",
        "",
    )


def test_the_csv_costs_the_same_queries_however_many_orders_and_shipments(
    ops_client, garment, operator
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from production.lifecycle import ProductionStatus
    from production.services.shipping import record_shipment

    def shipped_order(number: str):
        order = make_order(
            garment=garment, state=OrderState.IN_PRODUCTION, step=ProductionStatus.READY
        )
        record_shipment(order=order.pk, carrier="fedex", tracking_number=number, actor=operator)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = ops_client.get("/ops/orders/export.csv")
            b"".join(response.streaming_content)
        return len(ctx.captured_queries)

    shipped_order("123456789012")
    one = queries()
    for i in range(4):
        shipped_order(f"12345678902{i}")
    make_order(garment=garment)
    assert queries() == one
