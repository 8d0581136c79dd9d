"""Real concurrency on PostgreSQL: threads with their own connections hit one order at once."""

import itertools
from collections.abc import Callable

import pytest
from django.db import connection

from production.exceptions import IllegalTransition
from production.lifecycle import EventSource, OrderState, Priority, ProductionStatus
from production.models import FulfillmentEvent, ProductionOrder
from production.pricing import SizeQuantity
from production.services.orders import create_draft_order, transition_order, update_order
from production.services.shipping import record_shipment
from tests.concurrency import run_at_once
from tests.factories import GarmentFactory, UserFactory, make_order

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL"),
]


def test_concurrent_moves_leave_one_consistent_history():
    order = make_order(state=OrderState.SUBMITTED)
    before = order.events.count()

    def approve():
        return transition_order(
            order=order.pk, to=OrderState.APPROVED, actor=None, source=EventSource.OPERATOR
        )

    def set_priority(priority: Priority) -> Callable[[], object]:
        return lambda: update_order(
            order=order.pk, actor=None, source=EventSource.OPERATOR, priority=priority
        )

    jobs = [approve] * 6 + [set_priority(Priority.RUSH), set_priority(Priority.STANDARD)] * 3
    _, errors = run_at_once(jobs)
    assert errors == []

    order.refresh_from_db()
    events = list(FulfillmentEvent.objects.filter(order=order).order_by("id"))[before:]
    state_events = [e for e in events if e.kind == "state"]
    priority_events = [e for e in events if e.kind == "priority"]
    # Six operators approved at once: one move, one event.
    assert [(e.metadata["from"], e.metadata["to"]) for e in state_events] == [
        ("submitted", "approved")
    ]
    assert order.status == OrderState.APPROVED
    # Priority changes chain: each starts where the previous one ended (no lost update).
    for previous, current in itertools.pairwise(priority_events):
        assert current.metadata["from"] == previous.metadata["to"]
    if priority_events:
        assert priority_events[0].metadata["from"] == "standard"
        assert order.priority == priority_events[-1].metadata["to"]
    else:
        assert order.priority == Priority.STANDARD
    assert all(e.metadata["from"] != e.metadata["to"] for e in priority_events)


def test_concurrent_fulfil_and_cancel_cannot_both_win():
    # At Ready, where both are allowed (canceling in production needs a reason).
    order = make_order(state=OrderState.IN_PRODUCTION, step=ProductionStatus.READY)

    def move(to: OrderState) -> Callable[[], object]:
        return lambda: transition_order(
            order=order.pk, to=to, actor=None, source=EventSource.OPERATOR, note="Misprint"
        )

    results, errors = run_at_once([move(OrderState.FULFILLED), move(OrderState.CANCELED)] * 4)
    order.refresh_from_db()
    final_moves = FulfillmentEvent.objects.filter(
        order=order, kind="state", metadata__from="in_production"
    )
    assert final_moves.count() == 1
    assert order.status == final_moves.get().metadata["to"]
    # Everyone asking for the state that won saw a no-op; the others were refused.
    assert len(results) + len(errors) == 8
    assert all(isinstance(e, IllegalTransition) for e in errors)


def test_concurrent_creates_never_share_a_reference():
    garment = GarmentFactory()
    owners = [UserFactory() for _ in range(12)]

    def create(owner) -> Callable[[], object]:
        return lambda: create_draft_order(
            owner=owner,
            garment_gid=garment.shopify_gid,
            design_url="https://cdn.example.com/d.png",
            sizes=[SizeQuantity("M", 1)],
        )

    results, errors = run_at_once([create(owner) for owner in owners])
    assert errors == []
    references = [order.reference for order in results]
    assert len(set(references)) == 12
    assert ProductionOrder.objects.count() == 12


def test_concurrent_retries_with_one_idempotency_key_make_one_order():
    garment = GarmentFactory()
    owner = UserFactory()

    def create() -> object:
        return create_draft_order(
            owner=owner,
            garment_gid=garment.shopify_gid,
            design_url="https://cdn.example.com/d.png",
            sizes=[SizeQuantity("M", 1)],
            idempotency_key="retry-storm",
        )

    results, errors = run_at_once([create] * 8)
    assert errors == []
    assert len({order.pk for order in results}) == 1
    assert ProductionOrder.objects.count() == 1


def test_two_operators_recording_the_last_shipment_leave_one_fulfilment():
    from production.exceptions import OrderError
    from production.models import OutgoingEmail, Shipment
    from production.services.shipping import ShipLine

    order = make_order(
        sizes=[("M", 2), ("L", 1)], state=OrderState.IN_PRODUCTION, step=ProductionStatus.READY
    )
    m, l_line = order.line_items.order_by("id")
    record_shipment(
        order=order.pk,
        carrier="ups",
        tracking_number="1Z999AA10123456784",
        items=[ShipLine(m.pk, 2)],
        actor=None,
    )

    def ship_last(number: str) -> Callable[[], object]:
        return lambda: record_shipment(
            order=order.pk,
            carrier="fedex",
            tracking_number=number,
            items=[ShipLine(l_line.pk, 1)],
            actor=None,
        )

    results, errors = run_at_once([ship_last(f"12345678901{i}") for i in range(4)])

    assert len(results) == 1
    assert len(errors) == 3 and all(isinstance(e, OrderError) for e in errors)
    order.refresh_from_db()
    assert order.status == OrderState.FULFILLED
    assert order.shipped_quantity == 3
    assert Shipment.objects.filter(order=order).count() == 2
    fulfilled = FulfillmentEvent.objects.filter(order=order, kind="state", metadata__to="fulfilled")
    assert fulfilled.count() == 1
    complete = OutgoingEmail.objects.filter(
        order=order, kind="shipment_sent", subject__startswith="Your order"
    )
    assert complete.count() == 1


def test_one_ticket_read_by_several_scanners_at_once_moves_once_and_says_so_once():
    from ops import services as ops_services
    from ops.floor import STATIONS_BY_KEY
    from ops.models import StationScan

    order = make_order(state=OrderState.APPROVED)
    operator = UserFactory()
    before = order.events.count()

    def scan() -> str:
        return ops_services.scan_at_station(
            station=STATIONS_BY_KEY["printing"], code=order.reference, actor=operator
        ).outcome

    outcomes, errors = run_at_once([scan] * 4)

    assert errors == []
    assert sorted(outcomes) == ["already", "already", "already", "moved"]
    assert order.events.count() == before + 1
    assert StationScan.objects.filter(outcome="moved").count() == 1
