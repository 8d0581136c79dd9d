"""Ship-to address and delivery choice (issue 23): the address validated per country, shipping a
line of the total, pickup only where the shop offers it; nothing written when refused."""

import pytest

from production.addresses import clean_address
from production.exceptions import IdempotencyConflict, InvalidAddress, InvalidOrder
from production.lifecycle import Delivery, Priority
from production.models import ProductionOrder, ShippingAddress
from production.pricing import SizeQuantity
from production.services.orders import create_draft_order

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
    settings.SHIPPING_COUNTRIES = ["US", "CA", "GB", "DE"]
    settings.SHIPPING_RATES = {"US": 500}
    settings.SHIPPING_RATE = 1500
    settings.PICKUP_ADDRESS = ""


def draft(customer, garment, **kwargs):
    return create_draft_order(
        owner=customer,
        garment_gid=garment.shopify_gid,
        design_url="https://cdn.example.com/d.png",
        sizes=[SizeQuantity("M", 2)],
        **kwargs,
    )


def test_the_reference_order_has_unknown_delivery_and_the_same_price(customer, garment):
    order = draft(customer, garment)
    assert order.delivery == Delivery.UNKNOWN
    assert order.shipping_amount == 0
    assert order.total_amount == order.subtotal_amount == 2 * garment.base_price
    assert not ShippingAddress.objects.filter(order=order).exists()


def test_an_address_means_shipping_priced_per_country(customer, garment):
    order = draft(customer, garment, shipping=US, priority=Priority.RUSH)
    assert order.delivery == Delivery.SHIPPING
    assert order.shipping_amount == 500
    # Rush is on the items, not on shipping.
    assert order.total_amount == order.subtotal_amount + order.rush_surcharge_amount + 500
    stored = ShippingAddress.objects.get(order=order)
    assert (stored.name, stored.city, stored.state_code, stored.postal_code) == (
        "Ada Lovelace",
        "Chatsworth",
        "CA",
        "91311",
    )


def test_a_country_without_its_own_rate_pays_the_flat_rate(customer, garment):
    gb = {"name": "A", "address1": "10 Downing St", "city": "London", "countryCode": "gb"}
    order = draft(customer, garment, delivery="shipping", shipping={**gb, "zip": "sw1a 2aa"})
    assert order.shipping_amount == 1500
    assert order.shipping_address.postal_code == "SW1A 2AA"
    assert order.shipping_address.country_code == "GB"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"zip": "1234"}, "shipping.zip"),
        ({"stateCode": ""}, "shipping.stateCode"),
        ({"stateCode": "ZZ"}, "shipping.stateCode"),
        ({"city": ""}, "shipping.city"),
        ({"name": ""}, "shipping.name"),
        ({"address1": ""}, "shipping.address1"),
        ({"countryCode": "JP", "zip": "100-0001"}, "shipping.countryCode"),
        ({"phone": "call me"}, "shipping.phone"),
        ({"name": "x" * 201}, "shipping.name"),
    ],
)
def test_a_bad_address_is_refused_next_to_its_field_and_nothing_is_written(
    customer, garment, change, field
):
    with pytest.raises(InvalidAddress) as refused:
        draft(customer, garment, shipping={**US, **change})
    assert field in refused.value.details
    assert not ProductionOrder.objects.exists()


def test_german_postal_codes_have_five_digits():
    de = {"name": "B", "address1": "Unter den Linden 1", "city": "Berlin", "countryCode": "DE"}
    assert clean_address({**de, "zip": "10117"}).postal_code == "10117"
    with pytest.raises(InvalidAddress) as refused:
        clean_address({**de, "zip": "1011"})
    assert refused.value.details["shipping.zip"][0].startswith("Not a valid postal code for DE")


def test_shipping_needs_an_address(customer, garment):
    with pytest.raises(InvalidOrder) as refused:
        draft(customer, garment, delivery="shipping")
    assert "shipping" in refused.value.details
    assert not ProductionOrder.objects.exists()


def test_pickup_only_where_the_shop_has_a_pickup_address(customer, garment, settings):
    with pytest.raises(InvalidOrder) as refused:
        draft(customer, garment, delivery="pickup")
    assert "delivery" in refused.value.details
    settings.PICKUP_ADDRESS = "1 Shop St"
    order = draft(customer, garment, delivery="pickup")
    assert order.delivery == Delivery.PICKUP
    assert order.shipping_amount == 0
    assert order.total_amount == order.subtotal_amount


def test_pickup_with_an_address_or_an_unknown_choice_is_refused(customer, garment, settings):
    settings.PICKUP_ADDRESS = "1 Shop St"
    with pytest.raises(InvalidOrder):
        draft(customer, garment, delivery="pickup", shipping=US)
    with pytest.raises(InvalidOrder):
        draft(customer, garment, delivery="drone")
    assert not ProductionOrder.objects.exists()


def test_a_retry_with_the_same_key_returns_the_order_and_another_address_conflicts(
    customer, garment
):
    first = draft(customer, garment, shipping=US, idempotency_key="k1")
    again = draft(customer, garment, shipping=dict(US), idempotency_key="k1")
    assert again.pk == first.pk
    with pytest.raises(IdempotencyConflict):
        draft(customer, garment, shipping={**US, "address1": "1 Other St"}, idempotency_key="k1")
    assert ProductionOrder.objects.count() == 1
