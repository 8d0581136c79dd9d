"""What each surface offers for an order comes from one rulebook function (`offered_moves`, and
`offered_anywhere` for the bulk menu), spelled out here, and the surfaces show exactly that: the
ops order page, the bulk menu, the admin's service form and the production board."""

import re

import pytest
from django.test import Client

from ops.forms import BULK_CHOICES
from production.admin import OrderChangeForm
from production.lifecycle import (
    OPEN_STATES,
    Actor,
    EventSource,
    Offer,
    OrderFacts,
    OrderState,
    Priority,
    ProductionStatus,
    offered_anywhere,
    offered_moves,
)
from production.models import ProductionOrder
from production.services.orders import update_order
from production.services.shipping import ShipLine, announce_pickup, record_shipment
from tests.factories import make_order, make_proof

S, P = "status", "production_status"
APPROVE = Offer(S, OrderState.APPROVED, "Approve artwork", forward=True)
CANCEL = Offer(S, OrderState.CANCELED, "Cancel order", final=True)
START = Offer(S, OrderState.IN_PRODUCTION, "Start production", forward=True)
FULFIL = Offer(S, OrderState.FULFILLED, "Mark fulfilled", forward=True, final=True)
TO_FINISHING = Offer(P, ProductionStatus.FINISHING, "Printing done → Finishing")
TO_READY = Offer(P, ProductionStatus.READY, "Finishing done → Ready")
HOLD = "Release the hold first: the order is on hold."


def at(status, step=ProductionStatus.QUEUED, priority=Priority.STANDARD, proof=None, shipped=0):
    return OrderFacts(
        OrderState(status), ProductionStatus(step), Priority(priority), proof, shipped
    )


def refused(offer: Offer, words: str) -> Offer:
    return Offer(**{**offer.__dict__, "refusal": words})


def with_reason(offer: Offer) -> Offer:
    return Offer(**{**offer.__dict__, "needs_reason": True})


OPERATOR_OFFERS = [
    (at(OrderState.DRAFT, ProductionStatus.SPEC_REVIEW), [CANCEL]),
    (at(OrderState.SUBMITTED), [APPROVE, CANCEL]),
    (
        at(OrderState.SUBMITTED, proof=1),
        [refused(APPROVE, "The customer has not answered proof 1 yet."), CANCEL],
    ),
    (at(OrderState.APPROVED), [START, CANCEL]),
    (at(OrderState.APPROVED, priority=Priority.HOLD), [refused(START, HOLD), CANCEL]),
    (
        at(OrderState.IN_PRODUCTION, ProductionStatus.PRINTING),
        [
            refused(FULFIL, "Finish printing first: the order is at Printing."),
            with_reason(CANCEL),
            TO_FINISHING,
        ],
    ),
    (
        at(OrderState.IN_PRODUCTION, ProductionStatus.FINISHING, Priority.HOLD),
        [
            refused(FULFIL, "Mark it Ready first: the order is at Finishing."),
            with_reason(CANCEL),
            refused(TO_READY, HOLD),
        ],
    ),
    (at(OrderState.IN_PRODUCTION, ProductionStatus.READY), [FULFIL, with_reason(CANCEL)]),
    (
        at(OrderState.IN_PRODUCTION, ProductionStatus.READY, shipped=2),
        [
            FULFIL,
            with_reason(
                refused(
                    CANCEL,
                    "Part of the order has already left the shop: ship or hand over the rest, "
                    "it can no longer be canceled.",
                )
            ),
        ],
    ),
    (at(OrderState.FULFILLED, ProductionStatus.READY), []),
    (at(OrderState.CANCELED, ProductionStatus.PRINTING), []),
]


@pytest.mark.parametrize(("facts", "expected"), OPERATOR_OFFERS)
def test_what_an_operator_is_offered(facts, expected):
    assert offered_moves(facts, Actor.OPERATOR) == expected


def test_the_customer_is_offered_only_the_answer_to_a_waiting_proof():
    approve_proof = Offer(S, OrderState.APPROVED, "Approve proof", forward=True)
    assert offered_moves(at(OrderState.SUBMITTED, proof=2), Actor.CUSTOMER) == [approve_proof]
    assert offered_moves(at(OrderState.SUBMITTED), Actor.CUSTOMER) == [
        refused(approve_proof, "No proof is waiting for the customer's answer.")
    ]
    in_production = at(OrderState.IN_PRODUCTION, ProductionStatus.PRINTING)
    assert offered_moves(in_production, Actor.CUSTOMER) == []  # no production step either


def test_stripe_is_offered_the_payment_and_the_cancelation_of_a_draft():
    draft = at(OrderState.DRAFT, ProductionStatus.SPEC_REVIEW)
    assert offered_moves(draft, Actor.STRIPE) == [
        Offer(S, OrderState.SUBMITTED, "Payment confirmed", forward=True),
        CANCEL,
    ]


def test_what_an_operator_may_ever_be_offered():
    assert [(o.field, o.to, o.label) for o in offered_anywhere(Actor.OPERATOR)] == [
        (S, "approved", "Approve artwork"),
        (S, "in_production", "Start production"),
        (S, "fulfilled", "Mark fulfilled"),
        (S, "canceled", "Cancel order"),
        (P, "Finishing", "Printing done → Finishing"),
        (P, "Ready", "Finishing done → Ready"),
    ]
    assert all(o.refusal is None and not o.forward for o in offered_anywhere(Actor.OPERATOR))


def test_the_open_states_are_those_with_a_way_forward():
    assert OPEN_STATES == ("submitted", "approved", "in_production")


# --- the surfaces --------------------------------------------------------------------------------


def test_the_bulk_menu_offers_what_an_operator_may_ever_be_offered():
    assert BULK_CHOICES == [
        (
            "Order state",
            [
                ("status:approved", "Approved"),
                ("status:in_production", "In production"),
                ("status:fulfilled", "Fulfilled"),
                ("status:canceled", "Canceled"),
            ],
        ),
        (
            "Production status",
            [("productionStatus:Finishing", "Finishing"), ("productionStatus:Ready", "Ready")],
        ),
        (
            "Priority",
            [
                ("priority:rush", "Rush"),
                ("priority:standard", "Standard"),
                ("priority:hold", "Hold"),
            ],
        ),
    ]


db = pytest.mark.django_db


@pytest.fixture
def ops_client(operator) -> Client:
    client = Client()
    client.force_login(operator)
    return client


@db
def test_the_ops_order_page_shows_the_offered_moves(ops_client):
    order = make_order(state=OrderState.IN_PRODUCTION, step=ProductionStatus.FINISHING)
    update_order(order=order, actor=None, source=EventSource.OPERATOR, priority=Priority.HOLD)
    context = ops_client.get(f"/ops/orders/{order.id}/").context
    assert context["transitions"] == [
        {
            "value": "fulfilled",
            "label": "Mark fulfilled",
            "refusal": "Mark it Ready first: the order is at Finishing.",
            "final": True,
        },
        {"value": "canceled", "label": "Cancel order", "refusal": None, "final": True},
    ]
    assert context["forward"] == context["transitions"][0]
    assert (context["next_step"], context["next_step_label"], context["next_step_refusal"]) == (
        "Ready",
        "Finishing done → Ready",
        HOLD,
    )


@db
def test_a_final_move_asks_first_and_a_cancel_in_production_needs_a_reason(ops_client):
    order = make_order(state=OrderState.IN_PRODUCTION, step=ProductionStatus.PRINTING)
    response = ops_client.post(
        f"/ops/orders/{order.id}/actions", {"action": "status", "value": "canceled"}
    )
    assert response.status_code == 200
    assert response.context["move"] == with_reason(CANCEL)
    assert response.context["needs_reason"] is True
    assert ProductionOrder.objects.get(pk=order.pk).status == "in_production"


@db
def test_the_ops_page_offers_no_priority_change_once_final(ops_client):
    live = make_order(state=OrderState.APPROVED)
    done = make_order(state=OrderState.CANCELED)
    assert 'name="action" value="priority"' in ops_client.get(f"/ops/orders/{live.id}/").text
    page = ops_client.get(f"/ops/orders/{done.id}/")
    assert page.context["priority_refusal"] == ("priority cannot change once the order is canceled")
    assert 'name="action" value="priority"' not in page.text


@db
def test_the_ops_page_offers_the_pickup_notice_once(ops_client, operator, settings):
    settings.PICKUP_ADDRESS = "12 Demo Street"
    order = make_order(state=OrderState.IN_PRODUCTION, step=ProductionStatus.READY)
    button = re.compile(r'<button type="submit" class="secondary" id="pickup-ready"( disabled)?>')
    assert button.search(ops_client.get(f"/ops/orders/{order.id}/").text).group(1) is None
    announce_pickup(order=order.pk, actor=operator)
    page = ops_client.get(f"/ops/orders/{order.id}/")
    assert page.context["pickup_notice_refusal"].startswith(
        "the customer was already told it is ready for pickup"
    )
    assert button.search(page.text).group(1) == " disabled"


@db
def test_the_ops_page_offers_a_tracking_correction_as_the_rulebook_says(ops_client, operator):
    order = make_order(state=OrderState.IN_PRODUCTION, step=ProductionStatus.READY)
    line = order.line_items.first()
    record_shipment(
        order=order.pk,
        carrier="ups",
        tracking_number="1Z999AA10123456784",
        items=[ShipLine(line.pk, 1)],
        actor=operator,
    )
    page = ops_client.get(f"/ops/orders/{order.id}/")
    assert page.context["correction_refusal"] is None
    assert "Correct tracking" in page.text
    canceled = ops_client.get(f"/ops/orders/{make_order(state=OrderState.CANCELED).id}/")
    assert canceled.context["correction_refusal"] == (
        "The order is canceled: it cannot change any more."
    )


@db
def test_the_admin_offers_the_allowed_moves_and_the_next_step():
    order = make_order(state=OrderState.IN_PRODUCTION, step=ProductionStatus.PRINTING)
    form = OrderChangeForm(order=order)
    assert form.fields["move_to"].choices == [
        ("", "— no change —"),
        ("canceled", "Cancel order"),  # fulfilling is refused until Ready: not offered
    ]
    assert form.fields["set_production_status"].choices == [
        ("", "— no change —"),
        ("Finishing", "Printing done → Finishing"),
    ]
    waiting = make_order(state=OrderState.SUBMITTED)
    make_proof(waiting)
    form = OrderChangeForm(order=ProductionOrder.objects.get(pk=waiting.pk))
    assert form.fields["move_to"].choices == [("", "— no change —"), ("canceled", "Cancel order")]


@db
def test_the_board_gives_its_script_the_open_states(ops_client):
    page = ops_client.get("/ops/board/").text
    assert 'data-open-states="submitted approved in_production"' in page
