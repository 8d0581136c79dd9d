"""Shipments and local pickup: what leaves the shop, and the fulfilment it brings."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from production.exceptions import IllegalTransition, OrderError
from production.lifecycle import (
    Actor,
    EventSource,
    OrderFacts,
    OrderState,
    ProductionStatus,
    move_refusal,
    ship_refusal,
)
from production.models import FulfillmentEvent, OutgoingEmail, ProductionOrder, Shipment
from production.services.orders import transition_order
from production.services.shipping import (
    ShipLine,
    announce_pickup,
    correct_shipment,
    record_pickup,
    record_shipment,
)
from tests.factories import make_order

pytestmark = pytest.mark.django_db

UPS = "1Z999AA10123456784"
UPS_2 = "1Z5R89390357567127"


@pytest.fixture
def ready(garment, customer):
    """2 × M and 3 × L, printed, finished and Ready."""
    return make_order(
        owner=customer,
        garment=garment,
        sizes=[("M", 2), ("L", 3)],
        state=OrderState.IN_PRODUCTION,
        step=ProductionStatus.READY,
    )


def lines(order: ProductionOrder) -> dict[str, int]:
    return {item.size: item.pk for item in order.line_items.all()}


def ship(order, operator, *, number=UPS, carrier="ups", items=None, **kwargs):
    return record_shipment(
        order=order.pk,
        carrier=carrier,
        tracking_number=number,
        items=items,
        actor=operator,
        source=EventSource.OPERATOR,
        **kwargs,
    )


def fulfilments(order) -> list[FulfillmentEvent]:
    return list(
        FulfillmentEvent.objects.filter(order=order, kind="state", metadata__to="fulfilled")
    )


def test_partial_then_complete_shipment_fulfils_the_order_exactly_once(ready, operator):
    ids = lines(ready)
    ship(ready, operator, items=[ShipLine(ids["M"], 2), ShipLine(ids["L"], 1)])
    ready.refresh_from_db()
    assert ready.status == OrderState.IN_PRODUCTION
    assert (ready.shipped_quantity, ready.total_quantity) == (3, 5)
    assert fulfilments(ready) == []
    partial = FulfillmentEvent.objects.filter(order=ready, kind="shipment").get()
    assert (
        partial.message
        == "3 items shipped by UPS, tracking 1Z999AA10123456784 (3 of 5 items shipped)"
    )
    assert (
        partial.metadata["trackingUrl"] == "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    )

    ship(ready, operator, number=UPS_2, items=[ShipLine(ids["L"], 2)])
    ready.refresh_from_db()
    assert ready.status == OrderState.FULFILLED
    assert ready.shipped_quantity == 5
    [fulfilled] = fulfilments(ready)
    assert fulfilled.message == "Order fulfilled: every item has shipped"
    assert fulfilled.metadata["from"] == "in_production"

    # One mail per parcel; the last one says the order is complete, and no other fulfilment mail.
    kinds = list(ready.emails.order_by("id").values_list("kind", "subject"))
    assert kinds[-2:] == [
        ("shipment_sent", f"Part of your order {ready.reference} has shipped"),
        ("shipment_sent", f"Your order {ready.reference} has shipped"),
    ]
    assert not ready.emails.filter(kind=OutgoingEmail.Kind.ORDER_FULFILLED).exists()


def test_omitting_items_ships_everything_that_remains(ready, operator):
    ids = lines(ready)
    ship(ready, operator, items=[ShipLine(ids["L"], 1)])
    shipment = ship(ready, operator, number=UPS_2)
    assert {i.line_item.size: i.quantity for i in shipment.items.all()} == {"M": 2, "L": 2}
    ready.refresh_from_db()
    assert ready.status == OrderState.FULFILLED


def test_shipping_more_than_was_ordered_is_refused_and_writes_nothing(ready, operator):
    ids = lines(ready)
    ship(ready, operator, items=[ShipLine(ids["L"], 2)])
    events_before = ready.events.count()
    mails_before = OutgoingEmail.objects.count()

    with pytest.raises(OrderError) as refused:
        ship(ready, operator, number=UPS_2, items=[ShipLine(ids["M"], 1), ShipLine(ids["L"], 2)])

    assert refused.value.details == {
        "items": ["Size L: 2 asked, but only 1 of 3 left to ship (2 already shipped or picked up)."]
    }
    ready.refresh_from_db()
    assert ready.shipped_quantity == 2
    assert Shipment.objects.filter(order=ready).count() == 1
    assert ready.events.count() == events_before
    assert OutgoingEmail.objects.count() == mails_before


def test_a_line_of_another_order_is_refused(ready, operator, garment):
    other = make_order(garment=garment, state=OrderState.SUBMITTED)
    foreign = other.line_items.first().pk
    with pytest.raises(OrderError, match="is not part of"):
        ship(ready, operator, items=[ShipLine(foreign, 1)])


def test_an_empty_shipment_is_refused(ready, operator):
    ids = lines(ready)
    with pytest.raises(OrderError, match="at least one item"):
        ship(ready, operator, items=[ShipLine(ids["M"], 0)])


@pytest.mark.parametrize(
    ("state", "step"),
    [
        (OrderState.SUBMITTED, None),
        (OrderState.APPROVED, None),
        (OrderState.IN_PRODUCTION, ProductionStatus.PRINTING),
        (OrderState.IN_PRODUCTION, ProductionStatus.FINISHING),
    ],
)
def test_shipping_before_ready_is_refused_with_the_rulebooks_reason(garment, operator, state, step):
    order = make_order(garment=garment, state=state, step=step)
    reason = ship_refusal(OrderFacts.of(order), actor=Actor.OPERATOR)
    assert reason == move_refusal(OrderFacts.of(order), OrderState.FULFILLED, actor=Actor.OPERATOR)
    with pytest.raises(IllegalTransition) as refused:
        ship(order, operator)
    assert refused.value.message == f"{order.reference}: {reason}"
    assert not Shipment.objects.filter(order=order).exists()


def test_the_refusal_names_the_step_to_take(garment, operator):
    order = make_order(
        garment=garment, state=OrderState.IN_PRODUCTION, step=ProductionStatus.FINISHING
    )
    finishing = r"Mark it Ready first: the order is at Finishing\."
    with pytest.raises(IllegalTransition, match=finishing):
        ship(order, operator)


def test_a_fulfilled_order_ships_nothing_more(garment, operator):
    order = make_order(garment=garment, state=OrderState.FULFILLED)
    with pytest.raises(IllegalTransition, match="fulfilled: it cannot change any more"):
        ship(order, operator)


def test_customers_cannot_record_shipments(ready, customer):
    with pytest.raises(IllegalTransition, match="The customer cannot record a shipment"):
        record_shipment(
            order=ready.pk,
            carrier="ups",
            tracking_number=UPS,
            actor=customer,
            source=EventSource.CUSTOMER,
        )


def test_the_same_parcel_cannot_be_recorded_twice(ready, operator):
    ids = lines(ready)
    ship(ready, operator, items=[ShipLine(ids["M"], 1)])
    with pytest.raises(OrderError, match="UPS 1Z999AA10123456784 is already recorded"):
        ship(ready, operator, number="1z 999 aa1 0123 4567 84", items=[ShipLine(ids["M"], 1)])


def test_a_shipped_date_in_the_future_is_refused(ready, operator):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(OrderError, match="cannot be in the future"):
        ship(ready, operator, shipped_on=tomorrow)


def test_a_shipped_date_before_payment_is_refused(ready, operator):
    long_ago = timezone.localdate() - dt.timedelta(days=30)
    with pytest.raises(OrderError, match="before the order was paid"):
        ship(ready, operator, shipped_on=long_ago)


def test_the_shipment_mail_carries_the_tracking_link(ready, operator, task_worker):
    ids = lines(ready)
    ship(ready, operator, items=[ShipLine(ids["M"], 2)])
    task_worker()
    [message] = [m for m in mail.outbox if "shipped" in m.subject]
    assert message.to == ["customer@example.com"]
    assert "https://www.ups.com/track?tracknum=1Z999AA10123456784" in message.body
    assert "2 × Classic Tee, size M" in message.body
    assert "2 of 5 items shipped" in message.body


def test_a_partly_shipped_order_can_no_longer_be_canceled(ready, operator):
    ids = lines(ready)
    ship(ready, operator, items=[ShipLine(ids["M"], 1)])
    with pytest.raises(IllegalTransition, match="already left the shop"):
        transition_order(
            order=ready.pk,
            to=OrderState.CANCELED,
            actor=operator,
            source=EventSource.OPERATOR,
            note="Customer changed their mind",
        )


def test_marking_fulfilled_from_ready_still_works_and_mails_once(ready, operator):
    # The spec's PATCH status=fulfilled: handed over outside the system, no shipment recorded.
    transition_order(
        order=ready.pk, to=OrderState.FULFILLED, actor=operator, source=EventSource.OPERATOR
    )
    ready.refresh_from_db()
    assert ready.status == OrderState.FULFILLED
    assert ready.emails.filter(kind="order_fulfilled").count() == 1


# --- corrections ----------------------------------------------------------------------------


def test_a_correction_is_an_event_that_keeps_the_old_number(ready, operator, task_worker):
    shipment = ship(ready, operator)
    correct_shipment(
        order=ready.pk,
        shipment_id=shipment.pk,
        carrier="fedex",
        tracking_number="1234 5678 9012",
        note="Wrong label scanned",
        actor=operator,
    )
    shipment.refresh_from_db()
    assert (shipment.carrier, shipment.tracking_number) == ("fedex", "123456789012")
    assert shipment.tracking_url == "https://www.fedex.com/fedextrack/?trknbr=123456789012"
    corrected = ready.events.get(status="Shipment corrected")
    assert corrected.message == (
        "Tracking corrected: UPS 1Z999AA10123456784 → FedEx 123456789012: Wrong label scanned"
    )
    assert corrected.metadata["previous"]["trackingNumber"] == UPS
    assert corrected.metadata["from"] == "UPS 1Z999AA10123456784"
    # The first event still shows what was recorded then.
    assert ready.events.get(status="Shipped").metadata["trackingNumber"] == UPS
    task_worker()
    [message] = [m for m in mail.outbox if m.subject.startswith("Corrected tracking")]
    assert "https://www.fedex.com/fedextrack/?trknbr=123456789012" in message.body


def test_correcting_to_the_same_values_changes_nothing(ready, operator):
    shipment = ship(ready, operator)
    events = ready.events.count()
    correct_shipment(
        order=ready.pk, shipment_id=shipment.pk, carrier="ups", tracking_number=UPS, actor=operator
    )
    assert ready.events.count() == events


def test_a_fulfilled_order_can_still_be_corrected(ready, operator):
    shipment = ship(ready, operator)
    correct_shipment(
        order=ready.pk,
        shipment_id=shipment.pk,
        carrier="ups",
        tracking_number=UPS_2,
        actor=operator,
    )
    assert ready.events.filter(status="Shipment corrected").count() == 1


def test_an_invalid_correction_changes_nothing(ready, operator):
    shipment = ship(ready, operator)
    with pytest.raises(OrderError, match="not a DHL tracking number"):
        correct_shipment(
            order=ready.pk,
            shipment_id=shipment.pk,
            carrier="dhl",
            tracking_number="12345",
            actor=operator,
        )
    shipment.refresh_from_db()
    assert shipment.tracking_number == UPS


# --- local pickup ---------------------------------------------------------------------------


@pytest.fixture
def pickup_settings(settings):
    settings.PICKUP_ADDRESS = "Print Shop, 12 Mill Lane, Springfield"
    settings.PICKUP_HOURS = "Mon-Fri 9:00-17:00"


def test_ready_for_pickup_mails_the_address_and_hours(
    ready, operator, pickup_settings, task_worker
):
    event = announce_pickup(order=ready.pk, actor=operator)
    assert event.message == (
        "Ready for pickup at Print Shop, 12 Mill Lane, Springfield (Mon-Fri 9:00-17:00)"
    )
    ready.refresh_from_db()
    assert ready.pickup_ready_at is not None
    assert ready.status == OrderState.IN_PRODUCTION
    task_worker()
    [message] = [m for m in mail.outbox if "ready for pickup" in m.subject]
    assert "Where: Print Shop, 12 Mill Lane, Springfield" in message.body
    assert "When: Mon-Fri 9:00-17:00" in message.body
    with pytest.raises(OrderError, match="already told"):
        announce_pickup(order=ready.pk, actor=operator)


def test_pickup_needs_the_shops_address(ready, operator, settings):
    settings.PICKUP_ADDRESS = ""
    with pytest.raises(OrderError, match="PICKUP_ADDRESS"):
        announce_pickup(order=ready.pk, actor=operator)


def test_picked_up_fulfils_the_remaining_items(ready, operator, pickup_settings, task_worker):
    ids = lines(ready)
    ship(ready, operator, items=[ShipLine(ids["M"], 2)])
    announce_pickup(order=ready.pk, actor=operator)
    pickup = record_pickup(order=ready.pk, actor=operator)
    assert pickup.kind == Shipment.Kind.PICKUP
    assert {i.line_item.size: i.quantity for i in pickup.items.all()} == {"L": 3}
    ready.refresh_from_db()
    assert ready.status == OrderState.FULFILLED
    [fulfilled] = fulfilments(ready)
    assert fulfilled.message == "Order fulfilled: picked up at the shop"
    task_worker()
    assert [m.subject for m in mail.outbox if "picked up" in m.subject] == [
        f"Your order {ready.reference} was picked up"
    ]
    assert not ready.emails.filter(kind="order_fulfilled").exists()


def test_pickup_before_ready_is_refused(garment, operator, pickup_settings):
    order = make_order(garment=garment, state=OrderState.APPROVED)
    with pytest.raises(IllegalTransition, match="Start production first"):
        record_pickup(order=order.pk, actor=operator)
    with pytest.raises(IllegalTransition, match="Start production first"):
        announce_pickup(order=order.pk, actor=operator)
