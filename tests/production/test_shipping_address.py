"""Ship-to address and delivery choice (issue 23): the address validated per country, shipping a
line of the total, pickup only where the shop offers it; nothing written when refused."""

import pytest

from production.addresses import clean_address
from production.exceptions import (
    IdempotencyConflict,
    IllegalTransition,
    InvalidAddress,
    InvalidOrder,
)
from production.lifecycle import (
    Actor,
    Delivery,
    EventSource,
    OrderFacts,
    OrderState,
    Priority,
    ProductionStatus,
    parcel_refusal,
)
from production.models import (
    FulfillmentEvent,
    OutgoingEmail,
    ProductionOrder,
    Shipment,
    ShippingAddress,
)
from production.pricing import SizeQuantity
from production.services.orders import create_draft_order
from production.services.shipping import (
    correct_shipping_address,
    record_pickup,
    record_shipment,
)
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


# --- the rulebook: shipments, pickup and address corrections --------------------------------------


@pytest.fixture
def ready_to_ship(garment, customer):
    return make_order(
        owner=customer,
        garment=garment,
        sizes=[("M", 2)],
        state=OrderState.IN_PRODUCTION,
        step=ProductionStatus.READY,
        shipping=US,
    )


def ship(order, operator):
    return record_shipment(
        order=order.pk,
        carrier="ups",
        tracking_number="1Z999AA10123456784",
        actor=operator,
        source=EventSource.OPERATOR,
    )


def test_an_order_for_pickup_gets_no_shipment_but_its_pickup(garment, customer, operator, settings):
    settings.PICKUP_ADDRESS = "1 Shop St"
    order = make_order(
        owner=customer,
        garment=garment,
        state=OrderState.IN_PRODUCTION,
        step=ProductionStatus.READY,
        delivery="pickup",
    )
    with pytest.raises(IllegalTransition, match="collects this order at the shop"):
        ship(order, operator)
    assert not Shipment.objects.filter(order=order).exists()
    record_pickup(order=order.pk, actor=operator)
    order.refresh_from_db()
    assert order.status == OrderState.FULFILLED


def test_a_shipment_needs_an_address_when_the_order_ships():
    facts = OrderFacts(OrderState.IN_PRODUCTION, ProductionStatus.READY, Priority.STANDARD)
    refused = parcel_refusal(facts, actor=Actor.OPERATOR, delivery="shipping", has_address=False)
    assert refused == "The order has no shipping address: add one first."
    assert (
        parcel_refusal(facts, actor=Actor.OPERATOR, delivery="unknown", has_address=False) is None
    )


def test_orders_from_before_the_choice_ship_as_before(ready, operator):
    assert ready.delivery == Delivery.UNKNOWN
    ship(ready, operator)
    assert Shipment.objects.filter(order=ready).count() == 1


@pytest.fixture
def ready(garment, customer):
    return make_order(
        owner=customer, garment=garment, state=OrderState.IN_PRODUCTION, step=ProductionStatus.READY
    )


def test_an_operator_corrects_the_address_the_event_keeps_both_and_the_customer_is_told(
    ready_to_ship, operator
):
    moved = {**US, "address1": "1 Infinite Loop", "city": "Cupertino", "zip": "95014"}
    correct_shipping_address(order=ready_to_ship.pk, address=moved, actor=operator)

    stored = ShippingAddress.objects.get(order=ready_to_ship)
    assert (stored.address1, stored.city, stored.postal_code) == (
        "1 Infinite Loop",
        "Cupertino",
        "95014",
    )
    event = FulfillmentEvent.objects.get(order=ready_to_ship, kind="address")
    assert event.message == "Delivery address corrected"
    assert event.metadata["previous"]["address1"] == "19749 Dearborn St"
    assert event.metadata["shipping"]["address1"] == "1 Infinite Loop"
    mail = OutgoingEmail.objects.get(order=ready_to_ship, kind="address_corrected")
    assert mail.to == ready_to_ship.owner.email
    assert "1 Infinite Loop" in mail.body and "Cupertino CA 95014" in mail.body

    # The same address again: nothing new.
    correct_shipping_address(order=ready_to_ship.pk, address=moved, actor=operator)
    assert FulfillmentEvent.objects.filter(order=ready_to_ship, kind="address").count() == 1


def test_a_bad_correction_is_refused_per_field_and_changes_nothing(ready_to_ship, operator):
    with pytest.raises(InvalidAddress) as refused:
        correct_shipping_address(
            order=ready_to_ship.pk, address={**US, "zip": "ABC"}, actor=operator
        )
    assert "shipping.zip" in refused.value.details
    assert ShippingAddress.objects.get(order=ready_to_ship).postal_code == "91311"
    assert not FulfillmentEvent.objects.filter(order=ready_to_ship, kind="address").exists()


def test_no_correction_after_the_first_parcel_nor_by_the_customer(ready_to_ship, operator):
    with pytest.raises(IllegalTransition, match="operators do"):
        correct_shipping_address(
            order=ready_to_ship.pk,
            address={**US, "city": "Reseda"},
            actor=ready_to_ship.owner,
            source=EventSource.CUSTOMER,
        )
    ship(ready_to_ship, operator)
    with pytest.raises(IllegalTransition, match="A parcel has left already"):
        correct_shipping_address(
            order=ready_to_ship.pk, address={**US, "city": "Reseda"}, actor=operator
        )
    assert ShippingAddress.objects.get(order=ready_to_ship).city == "Chatsworth"


def test_an_old_order_gets_its_missing_address_and_then_ships_there(ready, operator):
    correct_shipping_address(order=ready.pk, address=US, actor=operator)
    ready.refresh_from_db()
    assert ready.delivery == Delivery.SHIPPING
    assert ready.total_amount == ready.subtotal_amount  # the price stays as paid
    event = FulfillmentEvent.objects.get(order=ready, kind="address")
    assert (event.message, event.metadata["previous"]) == ("Delivery address added", None)
    ship(ready, operator)
