"""The shop's rulebook (production/lifecycle.py), checked through the services for every order
position, actor and target: the services do exactly what the rulebook says, and every refusal is
written for a person."""

import pytest

from production.exceptions import IllegalTransition
from production.lifecycle import (
    STATUS_MAP,
    Actor,
    EventSource,
    OrderFacts,
    OrderState,
    Priority,
    ProductionStatus,
    move_refusal,
    moves_for,
    operator_targets,
    step_refusal,
)
from production.models import ProductionOrder
from production.services.orders import update_order
from tests.factories import make_order, make_proof

pytestmark = pytest.mark.django_db

SOURCE = {
    Actor.CUSTOMER: EventSource.CUSTOMER,
    Actor.OPERATOR: EventSource.OPERATOR,
    Actor.STRIPE: EventSource.STRIPE,
    Actor.SYSTEM: EventSource.SYSTEM,
}

PROOF = "proof waiting"
# Every place an order can be: its state, its production step, on hold or not, a proof waiting.
POSITIONS = [
    (OrderState.DRAFT, None, Priority.STANDARD),
    (OrderState.SUBMITTED, None, Priority.STANDARD),
    (OrderState.SUBMITTED, None, Priority.HOLD),
    (OrderState.SUBMITTED, PROOF, Priority.STANDARD),
    (OrderState.APPROVED, None, Priority.STANDARD),
    (OrderState.APPROVED, None, Priority.HOLD),
    (OrderState.IN_PRODUCTION, ProductionStatus.PRINTING, Priority.STANDARD),
    (OrderState.IN_PRODUCTION, ProductionStatus.FINISHING, Priority.RUSH),
    (OrderState.IN_PRODUCTION, ProductionStatus.FINISHING, Priority.HOLD),
    (OrderState.IN_PRODUCTION, ProductionStatus.READY, Priority.STANDARD),
    (OrderState.FULFILLED, None, Priority.STANDARD),
    (OrderState.CANCELED, None, Priority.STANDARD),
]


def order_at(state, step, priority) -> ProductionOrder:
    """An order at a position; `step` PROOF: submitted, with proof 1 waiting for the customer."""
    order = make_order(state=state, step=None if step == PROOF else step)
    if step == PROOF:
        make_proof(order)
    if priority != order.priority:
        update_order(order=order, actor=None, source=EventSource.OPERATOR, priority=priority)
    return ProductionOrder.objects.get(pk=order.pk)


def is_for_people(text: str) -> bool:
    """No internal names: no arrows between states, no snake_case values."""
    return "→" not in text and "_" not in text and text.endswith(".")


@pytest.mark.parametrize(("state", "step", "priority"), POSITIONS, ids=str)
@pytest.mark.parametrize("actor", list(Actor))
def test_every_state_move_does_what_the_rulebook_says(state, step, priority, actor):
    order = order_at(state, step, priority)
    for target in OrderState:
        if target == order.status:
            continue
        for reason in ("", "Customer asked to stop"):
            facts = OrderFacts.of(order)
            refusal = move_refusal(facts, target, actor=actor, reason=reason)
            events = order.events.count()
            if refusal is None:
                update_order(
                    order=order, actor=None, source=SOURCE[actor], status=target, note=reason
                )
                moved = ProductionOrder.objects.get(pk=order.pk)
                assert moved.status == target
                if target in STATUS_MAP:
                    assert moved.production_status == STATUS_MAP[target]
                assert moved.events.count() == events + 1
                assert moved.events.last().metadata["actor"] == actor.value
                order = order_at(state, step, priority)  # back to the position for the next target
            else:
                assert is_for_people(refusal), refusal
                with pytest.raises(IllegalTransition) as refused:
                    update_order(
                        order=order, actor=None, source=SOURCE[actor], status=target, note=reason
                    )
                assert refused.value.message == f"{order.reference}: {refusal}"
                assert order.events.count() == events
                assert ProductionOrder.objects.get(pk=order.pk).status == state


@pytest.mark.parametrize(("state", "step", "priority"), POSITIONS, ids=str)
@pytest.mark.parametrize("actor", list(Actor))
def test_every_production_step_does_what_the_rulebook_says(state, step, priority, actor):
    order = order_at(state, step, priority)
    for target in ProductionStatus:
        if target == order.production_status:
            continue
        refusal = step_refusal(OrderFacts.of(order), target, actor=actor)
        if refusal is None:
            update_order(order=order, actor=None, source=SOURCE[actor], production_status=target)
            assert ProductionOrder.objects.get(pk=order.pk).production_status == target
            order = order_at(state, step, priority)
        else:
            assert is_for_people(refusal), refusal
            with pytest.raises(IllegalTransition) as refused:
                update_order(
                    order=order, actor=None, source=SOURCE[actor], production_status=target
                )
            assert refused.value.message == f"{order.reference}: {refusal}"


# The rules a print shop would name, spelled out (the table in docs/decisions.md).
SHOP_RULES = [
    # (state, step, priority, actor, target, reason given, expected refusal or None)
    (OrderState.DRAFT, None, "standard", Actor.OPERATOR, "submitted", "",
     "Only a confirmed payment submits an order."),
    (OrderState.DRAFT, None, "standard", Actor.STRIPE, "submitted", "", None),
    (OrderState.DRAFT, None, "standard", Actor.OPERATOR, "approved", "",
     "The order is not paid yet: payment comes first."),
    (OrderState.SUBMITTED, None, "standard", Actor.CUSTOMER, "approved", "",
     "No proof is waiting for the customer's answer."),
    (OrderState.SUBMITTED, None, "standard", Actor.STRIPE, "approved", "",
     "Stripe cannot do this: approve artwork is for an operator."),
    # A proof waits: only the customer's answer approves it, and nothing starts production.
    (OrderState.SUBMITTED, 2, "standard", Actor.OPERATOR, "approved", "",
     "The customer has not answered proof 2 yet."),
    (OrderState.SUBMITTED, 2, "standard", Actor.OPERATOR, "in_production", "",
     "The customer has not answered proof 2 yet."),
    (OrderState.SUBMITTED, 2, "standard", Actor.CUSTOMER, "approved", "", None),
    (OrderState.SUBMITTED, 2, "standard", Actor.OPERATOR, "canceled", "", None),
    (OrderState.SUBMITTED, None, "standard", Actor.OPERATOR, "in_production", "",
     "Approve artwork first: the order is Submitted."),
    (OrderState.APPROVED, None, "hold", Actor.OPERATOR, "in_production", "",
     "Release the hold first: the order is on hold."),
    (OrderState.IN_PRODUCTION, "Printing", "standard", Actor.OPERATOR, "fulfilled", "",
     "Finish printing first: the order is at Printing."),
    (OrderState.IN_PRODUCTION, "Finishing", "standard", Actor.OPERATOR, "fulfilled", "",
     "Mark it Ready first: the order is at Finishing."),
    (OrderState.IN_PRODUCTION, "Ready", "standard", Actor.OPERATOR, "fulfilled", "", None),
    (OrderState.IN_PRODUCTION, "Printing", "standard", Actor.OPERATOR, "canceled", "",
     "Say why: a reason is needed to cancel an order that is in production."),
    (OrderState.IN_PRODUCTION, "Printing", "standard", Actor.OPERATOR, "canceled", "Misprint",
     None),
    (OrderState.APPROVED, None, "standard", Actor.OPERATOR, "submitted", "",
     "The order is Approved: it cannot go back to Submitted."),
    (OrderState.FULFILLED, None, "standard", Actor.OPERATOR, "canceled", "",
     "The order is fulfilled: it cannot change any more."),
]  # fmt: skip


@pytest.mark.parametrize(
    ("state", "step", "priority", "actor", "target", "reason", "expected"), SHOP_RULES
)
def test_the_shops_rules(state, step, priority, actor, target, reason, expected):
    # An int `step` in the submitted rows: the revision of the proof waiting.
    proof = step if isinstance(step, int) else None
    step = None if proof else step
    facts = OrderFacts(
        state, ProductionStatus(step or STATUS_MAP[state]), Priority(priority), proof
    )
    assert move_refusal(facts, OrderState(target), actor=actor, reason=reason) == expected


def test_no_skipped_production_stage():
    printing = OrderFacts(OrderState.IN_PRODUCTION, ProductionStatus.PRINTING, Priority.STANDARD)
    assert step_refusal(printing, ProductionStatus.READY, actor=Actor.OPERATOR) == (
        "Finish printing first: the order is at Printing."
    )
    assert step_refusal(printing, ProductionStatus.FINISHING, actor=Actor.OPERATOR) is None
    assert step_refusal(printing, ProductionStatus.FINISHING, actor=Actor.CUSTOMER) == (
        "The customer cannot change the production status: operators do."
    )


def test_a_held_order_does_not_move_on_the_floor():
    held = OrderFacts(OrderState.IN_PRODUCTION, ProductionStatus.PRINTING, Priority.HOLD)
    assert step_refusal(held, ProductionStatus.FINISHING, actor=Actor.OPERATOR) == (
        "Release the hold first: the order is on hold."
    )
    # Going back is refused for what it is, hold or not.
    assert step_refusal(held, ProductionStatus.PRINTING, actor=Actor.OPERATOR) == (
        "The order is already at Printing: production only moves on."
    )


def test_surfaces_offer_exactly_the_rulebooks_choices(client, operator):
    """The ops order page, the admin's change page and the bulk menu build their choices from
    the rulebook."""
    from ops.forms import BULK_CHOICES
    from production.admin import OrderChangeForm

    client.force_login(operator)
    for state, step, priority in POSITIONS:
        order = order_at(state, step, priority)
        facts = OrderFacts.of(order)
        allowed = [m.to.value for m in moves_for(facts, actor=Actor.OPERATOR)]
        page = client.get(f"/ops/orders/{order.pk}/").context
        offered = [t["value"] for t in page["transitions"] if t["refusal"] is None]
        assert offered == allowed, (state, step, priority)
        admin_choices = [v for v, _ in OrderChangeForm(order=order).fields["move_to"].choices if v]
        assert admin_choices == allowed
    bulk_states = [value.split(":")[1] for value, _ in BULK_CHOICES[0][1]]
    assert bulk_states == [state.value for state in operator_targets()]
