"""The ship-to address on the ops order page: shown (or "Address missing" / "Pickup at the
shop"), correctable until the first parcel leaves, and where the shipment form ships."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from ops import tickets
from ops.design_images import Thumbnail
from production.lifecycle import OrderState, ProductionStatus
from production.models import FulfillmentEvent, OutgoingEmail, ShippingAddress
from production.services.shipping import ShipLine, record_shipment
from tests.factories import make_order
from tests.ops.ticket_support import page_texts, scanned_codes

pytestmark = pytest.mark.django_db

US = {
    "name": "Ada Lovelace",
    "address1": "19749 Dearborn St",
    "city": "Chatsworth",
    "stateCode": "CA",
    "countryCode": "US",
    "zip": "91311",
}


@pytest.fixture(autouse=True)
def shop(settings):
    settings.SHIPPING_COUNTRIES = ["US", "GB"]
    settings.PICKUP_ADDRESS = "1 Shop St"


def ready(customer, garment, **kwargs):
    return make_order(
        owner=customer,
        garment=garment,
        sizes=[("M", 2)],
        state=OrderState.IN_PRODUCTION,
        step=ProductionStatus.READY,
        **kwargs,
    )


def page(client, order) -> str:
    response = client.get(f"/ops/orders/{order.pk}/")
    assert response.status_code == 200
    return response.content.decode()


def address_form(**overrides) -> dict:
    data = {
        "name": "Ada Lovelace",
        "address1": "1 Infinite Loop",
        "address2": "",
        "city": "Cupertino",
        "state_code": "CA",
        "country_code": "US",
        "postal_code": "95014",
        "phone": "",
        "note": "Customer phoned",
        **overrides,
    }
    return {f"address-{key}": value for key, value in data.items()}


def test_the_page_shows_the_address_and_where_the_shipment_goes(ops_client, customer, garment):
    html = page(ops_client, ready(customer, garment, shipping=US))
    assert "Ada Lovelace, 19749 Dearborn St, Chatsworth CA 91311, United States" in html
    assert 'id="ships-to">to Chatsworth, United States</span>' in html
    assert 'id="address-form"' in html


def test_an_old_order_says_address_missing_and_still_ships(ops_client, customer, garment):
    html = page(ops_client, ready(customer, garment))
    assert 'id="address-missing"' in html and "Address missing" in html
    assert 'id="shipment-form"' in html


def test_a_pickup_order_says_so_and_has_no_shipment_form(ops_client, customer, garment):
    html = page(ops_client, ready(customer, garment, delivery="pickup"))
    assert "Pickup at the shop" in html
    assert 'id="shipment-form"' not in html and 'id="address-form"' not in html
    assert "record the pickup instead" in html
    assert 'id="picked-up"' in html


def test_a_shipping_order_cannot_be_picked_up_or_announced_for_pickup(
    ops_client, customer, garment
):
    order = ready(customer, garment, shipping=US)
    html = page(ops_client, order)
    refusal = "The customer chose shipping: record a shipment to their address instead."
    assert refusal in html
    assert re.search(r'id="pickup-ready"[^>]* disabled', html)

    for action in ("ready", "picked_up"):
        response = ops_client.post(
            f"/ops/orders/{order.pk}/pickup", {"action": action}, follow=True
        )
        assert f"{order.reference}: {refusal}" in response.content.decode()
    order.refresh_from_db()
    assert (order.status, order.shipped_quantity, order.pickup_ready_at) == (
        OrderState.IN_PRODUCTION,
        0,
        None,
    )
    assert not OutgoingEmail.objects.filter(order=order, kind="pickup_ready").exists()
    assert not FulfillmentEvent.objects.filter(order=order, kind="pickup").exists()


def test_an_old_order_without_a_delivery_choice_may_still_be_picked_up(
    ops_client, customer, garment
):
    order = ready(customer, garment)
    ops_client.post(f"/ops/orders/{order.pk}/pickup", {"action": "picked_up"})
    order.refresh_from_db()
    assert order.status == OrderState.FULFILLED


def test_countries_are_named_and_chosen_from_the_countries_shipped_to(
    ops_client, customer, garment, settings
):
    settings.SHIPPING_COUNTRIES = ["US", "GB", "CI"]
    html = page(ops_client, ready(customer, garment, shipping=US))
    form = html[html.index('id="address-form"') :]
    select = form[form.index('name="address-country_code"') : form.index("</select>")]
    assert re.findall(r'<option value="(\w*)"[^>]*>([^<]*)</option>', select) == [
        ("", "Choose a country"),
        ("US", "United States"),
        ("GB", "United Kingdom"),
        ("CI", "Côte d’Ivoire"),
    ]
    assert re.search(r'<option value="US" selected>United States</option>', select)


def test_an_operator_corrects_the_address_and_the_customer_is_told(ops_client, customer, garment):
    order = ready(customer, garment, shipping=US)
    response = ops_client.post(f"/ops/orders/{order.pk}/shipping-address", address_form())
    assert response.status_code == 302
    html = page(ops_client, order)
    assert "1 Infinite Loop, Cupertino CA 95014, United States" in html
    assert "Delivery address corrected: Customer phoned" in html
    # The timeline keeps the old address.
    assert "(was: Ada Lovelace, 19749 Dearborn St, Chatsworth CA 91311, United States)" in html
    assert OutgoingEmail.objects.filter(order=order, kind="address_corrected").exists()


def test_a_bad_postal_code_is_shown_next_to_its_field_and_nothing_changes(
    ops_client, customer, garment
):
    order = ready(customer, garment, shipping=US)
    response = ops_client.post(
        f"/ops/orders/{order.pk}/shipping-address", address_form(postal_code="ABC")
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="address-postal_code-error"' in html and "Not a valid postal code for US" in html
    assert ShippingAddress.objects.get(order=order).postal_code == "91311"
    assert not FulfillmentEvent.objects.filter(order=order, kind="address").exists()


def test_no_correction_form_after_the_first_parcel(ops_client, customer, garment, operator):
    order = ready(customer, garment, shipping=US)
    record_shipment(
        order=order.pk,
        carrier="ups",
        tracking_number="1Z999AA10123456784",
        items=None,
        shipped_on=timezone.localdate(),
        actor=operator,
    )
    assert 'id="address-form"' not in page(ops_client, order)
    response = ops_client.post(f"/ops/orders/{order.pk}/shipping-address", address_form())
    assert response.status_code == 400
    assert "A parcel has left already" in response.content.decode()
    assert ShippingAddress.objects.get(order=order).city == "Chatsworth"


def test_customers_cannot_post_the_correction(customer_client, customer, garment):
    order = ready(customer, garment, shipping=US)
    response = customer_client.post(f"/ops/orders/{order.pk}/shipping-address", address_form())
    assert response.status_code in (302, 403)
    assert ShippingAddress.objects.get(order=order).city == "Chatsworth"


@pytest.fixture
def no_design_fetch(monkeypatch, settings):
    settings.SITE_URL = "https://shop.example.com"
    # The ticket's design thumbnails have their own tests (tests/ops/test_tickets_designs.py).
    monkeypatch.setattr(
        tickets, "design_thumbnail", lambda url: Thumbnail(None, "Design preview off in tests")
    )


def test_the_job_ticket_prints_where_the_order_goes(ops_client, customer, garment, no_design_fetch):
    shipped = ready(customer, garment, shipping=US)
    pickup = ready(customer, garment, delivery="pickup")
    old = ready(customer, garment)
    texts = {}
    for order in (shipped, pickup, old):
        response = ops_client.post(reverse("ops:order-ticket", args=[order.pk]))
        assert response.status_code == 200
        (texts[order.delivery],) = page_texts(response.content)
    assert "Chatsworth CA, US" in texts["shipping"]
    assert "19749 Dearborn" not in texts["shipping"]  # the street is for the packing slip
    assert "Pickup" in texts["pickup"]
    assert "Address missing" in texts["unknown"]


def test_a_packing_slip_per_shipment_has_the_address_its_items_and_the_reference_barcode(
    ops_client, customer_client, customer, garment, operator
):
    order = make_order(
        owner=customer,
        garment=garment,
        sizes=[("M", 2), ("L", 3)],
        state=OrderState.IN_PRODUCTION,
        step=ProductionStatus.READY,
        shipping=US,
    )
    m = order.line_items.get(size="M")
    first = record_shipment(
        order=order.pk,
        carrier="ups",
        tracking_number="1Z999AA10123456784",
        items=[ShipLine(m.pk, 2)],
        actor=operator,
    )
    second = record_shipment(
        order=order.pk, carrier="ups", tracking_number="1Z5R89390357567127", actor=operator
    )
    url = reverse("ops:packing-slip", args=[order.pk, first.pk])
    assert url in page(ops_client, order)

    response = ops_client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    (text,) = page_texts(response.content)
    for line in ("Ada Lovelace", "19749 Dearborn St", "Chatsworth CA 91311", order.reference):
        assert line in text
    # Only the first parcel's items: size, colour, quantity.
    assert "Quantity\nM\nDefault\n2\nItems in this parcel\n2" in text
    assert scanned_codes(response.content)["Code128"] == order.reference

    (second_text,) = page_texts(
        ops_client.get(reverse("ops:packing-slip", args=[order.pk, second.pk])).content
    )
    assert "L\nDefault\n3\nItems in this parcel\n3" in second_text
    assert customer_client.get(url).status_code in (302, 403)
    other = make_order(owner=customer, garment=garment)
    assert ops_client.get(reverse("ops:packing-slip", args=[other.pk, first.pk])).status_code == 404
