"""The customer's order page shows what left the shop, with working tracking links."""

import pytest

from production.lifecycle import OrderState, ProductionStatus
from production.services.shipping import ShipLine, announce_pickup, record_shipment
from tests.factories import make_order
from tests.production.test_pages import visible

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


def test_the_order_page_shows_shipments_with_their_tracking_link(client, customer, ready):
    m = ready.line_items.get(size="M")
    record_shipment(
        order=ready.pk, carrier="ups", tracking_number=UPS, items=[ShipLine(m.pk, 2)], actor=None
    )
    client.force_login(customer)
    response = client.get(f"/orders/{ready.pk}/")
    html = response.content.decode()
    page = visible(response)
    assert "2 of 3 items shipped" in page
    assert "Status: 2 of 3 items shipped" in page
    assert (
        f'<a class="tracking-link" href="https://www.ups.com/track?tracknum={UPS}" '
        'target="_blank" rel="noopener noreferrer">' + UPS + "</a>"
    ) in html
    assert "UPS " + UPS in page and "2 × M" in page
    assert 'id="shipment-section" aria-labelledby="shipment-heading">' in html  # shown


def test_without_shipments_the_delivery_section_is_hidden(client, customer, ready):
    client.force_login(customer)
    html = client.get(f"/orders/{ready.pk}/").content.decode()
    assert 'id="shipment-section" aria-labelledby="shipment-heading" hidden>' in html


def test_a_fulfilled_order_says_everything_left(client, customer, ready):
    record_shipment(order=ready.pk, carrier="ups", tracking_number=UPS, actor=None)
    client.force_login(customer)
    page = visible(client.get(f"/orders/{ready.pk}/"))
    assert "Shipped — every item has left the shop" in page
    assert "3 of 3 items shipped" in page


def test_ready_for_pickup_shows_the_shops_address(client, customer, ready, settings):
    settings.PICKUP_ADDRESS = "12 Mill Lane, Springfield"
    settings.PICKUP_HOURS = "Mon-Fri 9:00-17:00"
    announce_pickup(order=ready.pk, actor=None)
    client.force_login(customer)
    page = visible(client.get(f"/orders/{ready.pk}/"))
    assert "Ready for pickup at 12 Mill Lane, Springfield (Mon-Fri 9:00-17:00)" in page
    assert "Status: Ready for pickup at the shop" in page


def test_other_customers_cannot_see_the_tracking(client, other_customer, ready):
    record_shipment(order=ready.pk, carrier="ups", tracking_number=UPS, actor=None)
    client.force_login(other_customer)
    response = client.get(f"/orders/{ready.pk}/")
    assert response.status_code == 403
    assert UPS not in response.content.decode()
