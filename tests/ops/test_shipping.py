"""The ops order page's shipment form, corrections and pickup buttons."""

import pytest
from django.utils import timezone

from production.lifecycle import OrderState, ProductionStatus
from production.models import FulfillmentEvent, OutgoingEmail, Shipment
from production.services.shipping import ShipLine, record_shipment
from tests.factories import make_order

pytestmark = pytest.mark.django_db

UPS = "1Z999AA10123456784"


@pytest.fixture
def ready(garment, customer):
    return make_order(
        owner=customer,
        garment=garment,
        sizes=[("M", 2), ("L", 3)],
        state=OrderState.IN_PRODUCTION,
        step=ProductionStatus.READY,
    )


def page(client, order):
    return client.get(f"/ops/orders/{order.pk}/")


def form_data(order, **overrides) -> dict:
    data = {
        "carrier": "ups",
        "tracking_number": UPS,
        "tracking_url": "",
        "shipped_on": timezone.localdate().isoformat(),
    }
    for item in order.line_items.all():
        data[f"qty-{item.pk}"] = item.quantity
    data.update(overrides)
    return data


def test_the_form_defaults_to_what_is_left_and_today(ops_client, ready, operator):
    m = ready.line_items.get(size="M")
    record_shipment(
        order=ready.pk,
        carrier="ups",
        tracking_number=UPS,
        items=[ShipLine(m.pk, 1)],
        actor=operator,
    )
    response = page(ops_client, ready)
    form = response.context["shipment_form"]
    assert {item.size: left for _, item, left in form.line_fields} == {"M": 1, "L": 3}
    assert form[f"qty-{m.pk}"].value() == 1
    assert form["shipped_on"].value() == timezone.localdate()
    html = response.content.decode()
    assert "1 of 5 items</strong> shipped or picked up" in html
    assert f'href="https://www.ups.com/track?tracknum={UPS}"' in html


def test_recording_a_partial_shipment(ops_client, ready):
    l_line = ready.line_items.get(size="L")
    data = form_data(ready, **{f"qty-{ready.line_items.get(size='M').pk}": 0})
    data[f"qty-{l_line.pk}"] = 2
    response = ops_client.post(f"/ops/orders/{ready.pk}/shipments", data, follow=True)
    assert response.redirect_chain[-1][1] == 302
    assert "shipment recorded (2 items, UPS 1Z999AA10123456784)" in response.content.decode()
    ready.refresh_from_db()
    assert ready.shipped_quantity == 2 and ready.status == OrderState.IN_PRODUCTION
    assert OutgoingEmail.objects.filter(order=ready, kind="shipment_sent").count() == 1


def test_the_whole_order_in_one_parcel_fulfils_it(ops_client, ready):
    ops_client.post(f"/ops/orders/{ready.pk}/shipments", form_data(ready))
    ready.refresh_from_db()
    assert ready.status == OrderState.FULFILLED
    html = page(ops_client, ready).content.decode()
    assert 'id="shipment-form"' not in html  # nothing left to ship


def test_a_bad_tracking_number_is_shown_in_the_form_and_nothing_changes(ops_client, ready):
    response = ops_client.post(
        f"/ops/orders/{ready.pk}/shipments", form_data(ready, tracking_number="1Z123")
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="tracking-number-error"' in html
    assert "is not a UPS tracking number" in html
    assert 'value="1Z123"' in html  # what was typed stays
    assert not Shipment.objects.exists()
    assert not OutgoingEmail.objects.filter(kind="shipment_sent").exists()


def test_over_shipping_is_shown_in_the_form(ops_client, ready):
    m = ready.line_items.get(size="M")
    response = ops_client.post(
        f"/ops/orders/{ready.pk}/shipments", form_data(ready, **{f"qty-{m.pk}": 3})
    )
    assert response.status_code == 400
    assert "Size M: 3 asked, but only 2 of 2 left to ship." in response.content.decode()
    assert not Shipment.objects.exists()


def test_an_empty_shipment_is_shown_in_the_form(ops_client, ready):
    data = form_data(ready)
    for item in ready.line_items.all():
        data[f"qty-{item.pk}"] = 0
    response = ops_client.post(f"/ops/orders/{ready.pk}/shipments", data)
    assert response.status_code == 400
    assert "Put at least one item in the shipment." in response.content.decode()


def test_missing_fields_are_shown_in_the_form(ops_client, ready):
    response = ops_client.post(
        f"/ops/orders/{ready.pk}/shipments", form_data(ready, carrier="", tracking_number="")
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="carrier-error"' in html and 'id="tracking-number-error"' in html


def test_before_ready_the_page_shows_the_rulebooks_reason_instead_of_the_form(ops_client, garment):
    order = make_order(
        garment=garment, state=OrderState.IN_PRODUCTION, step=ProductionStatus.FINISHING
    )
    html = page(ops_client, order).content.decode()
    assert 'id="shipment-form"' not in html
    assert "Shipping: Mark it Ready first: the order is at Finishing." in html
    response = ops_client.post(f"/ops/orders/{order.pk}/shipments", form_data(order))
    assert response.status_code == 400
    assert "Mark it Ready first" in response.content.decode()


def test_correcting_a_shipment(ops_client, ready, operator):
    shipment = record_shipment(order=ready.pk, carrier="ups", tracking_number=UPS, actor=operator)
    prefix = f"fix-{shipment.pk}"
    url = f"/ops/orders/{ready.pk}/shipments/{shipment.pk}/correction"
    bad = ops_client.post(url, {f"{prefix}-carrier": "dhl", f"{prefix}-tracking_number": "42"})
    assert bad.status_code == 400
    assert "is not a DHL tracking number" in bad.content.decode()
    shipment.refresh_from_db()
    assert shipment.tracking_number == UPS

    ops_client.post(
        url,
        {
            f"{prefix}-carrier": "dhl",
            f"{prefix}-tracking_number": "3318810025",
            f"{prefix}-note": "Relabelled",
        },
    )
    shipment.refresh_from_db()
    assert (shipment.carrier, shipment.tracking_number) == ("dhl", "3318810025")
    html = page(ops_client, ready).content.decode()
    assert "Tracking corrected: UPS 1Z999AA10123456784 → DHL 3318810025: Relabelled" in html


def test_pickup_buttons(ops_client, ready, settings):
    settings.PICKUP_ADDRESS = "12 Mill Lane"
    settings.PICKUP_HOURS = "Mon-Fri 9-5"
    html = page(ops_client, ready).content.decode()
    assert "12 Mill Lane · Mon-Fri 9-5" in html
    ops_client.post(f"/ops/orders/{ready.pk}/pickup", {"action": "ready"})
    assert OutgoingEmail.objects.filter(order=ready, kind="pickup_ready").count() == 1
    ops_client.post(f"/ops/orders/{ready.pk}/pickup", {"action": "picked_up"})
    ready.refresh_from_db()
    assert ready.status == OrderState.FULFILLED
    assert FulfillmentEvent.objects.filter(order=ready, status="Picked up").count() == 1


def test_pickup_without_an_address_is_disabled_with_the_reason(ops_client, ready, settings):
    settings.PICKUP_ADDRESS = ""
    html = page(ops_client, ready).content.decode()
    assert "Local pickup is not set up" in html
    response = ops_client.post(f"/ops/orders/{ready.pk}/pickup", {"action": "ready"}, follow=True)
    assert "PICKUP_ADDRESS" in response.content.decode()
    assert not OutgoingEmail.objects.filter(kind="pickup_ready").exists()


def test_customers_cannot_reach_the_shipping_forms(customer_client, ready):
    for path, data in [
        (f"/ops/orders/{ready.pk}/shipments", form_data(ready)),
        (f"/ops/orders/{ready.pk}/pickup", {"action": "picked_up"}),
        (f"/ops/orders/{ready.pk}/shipments/1/correction", {}),
    ]:
        assert customer_client.post(path, data).status_code == 403
    assert not Shipment.objects.exists()


def test_the_page_runs_a_fixed_number_of_queries(ops_client, ready, operator):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert page(ops_client, ready).status_code == 200
        return len(ctx.captured_queries)

    lines = list(ready.line_items.all())
    record_shipment(
        order=ready.pk,
        carrier="ups",
        tracking_number=UPS,
        items=[ShipLine(lines[0].pk, 1)],
        actor=operator,
    )
    page(ops_client, ready)  # the operator's access, cached from their first page
    one = queries()
    record_shipment(
        order=ready.pk,
        carrier="fedex",
        tracking_number="123456789012",
        items=[ShipLine(lines[1].pk, 1)],
        actor=operator,
    )
    assert queries() == one
