"""The shop's rulebook, spelled out: for every position an order can be in, every actor and every
target, whether the move is allowed or the exact words of its refusal.

The expectations are literal data, written down here and never computed with the code under test
(`production.lifecycle`), so a wrong guard fails these tests wherever it lives. The moves go
through the public surfaces: the services for every actor (only operators reach the API's PATCH),
the API for what an operator sends, the customer's page and the ops page for proofs.

Changing a rule means changing its row here, on purpose.
"""

import pytest

from production.exceptions import IllegalTransition, OrderError
from production.lifecycle import Actor, EventSource, OrderState, Priority, ProductionStatus
from production.models import ArtworkProof, ProductionOrder
from production.services.orders import update_order
from production.services.proofs import decide_proof
from production.services.shipping import ShipLine, record_shipment
from tests.factories import make_order, make_proof

pytestmark = pytest.mark.django_db

OK = "allowed"

# --- where an order can be ------------------------------------------------------------------------

# name: (state, production status, priority, proof waiting, items shipped)
POSITIONS: dict[str, tuple[str, str, str, int | None, int]] = {
    "draft": ("draft", "Spec Review", "standard", None, 0),
    "submitted": ("submitted", "Queued", "standard", None, 0),
    "submitted, on hold": ("submitted", "Queued", "hold", None, 0),
    "submitted, proof 1 waiting": ("submitted", "Queued", "standard", 1, 0),
    "approved": ("approved", "Queued", "standard", None, 0),
    "approved, on hold": ("approved", "Queued", "hold", None, 0),
    "printing": ("in_production", "Printing", "standard", None, 0),
    "finishing, rush": ("in_production", "Finishing", "rush", None, 0),
    "finishing, on hold": ("in_production", "Finishing", "hold", None, 0),
    "ready": ("in_production", "Ready", "standard", None, 0),
    "ready, on hold": ("in_production", "Ready", "hold", None, 0),
    "ready, 1 item shipped": ("in_production", "Ready", "standard", None, 1),
    "fulfilled": ("fulfilled", "Ready", "standard", None, 0),
    "canceled": ("canceled", "Spec Review", "standard", None, 0),  # an unpaid draft, canceled
}

SOURCES = {
    "customer": EventSource.CUSTOMER,
    "operator": EventSource.OPERATOR,
    "stripe": EventSource.STRIPE,
    "system": EventSource.SYSTEM,
}


def position_of(order: ProductionOrder) -> tuple[str, str, str, int | None, int]:
    order = ProductionOrder.objects.get(pk=order.pk)
    return (
        order.status,
        order.production_status,
        order.priority,
        order.waiting_proof_revision,
        order.shipped_quantity,
    )


def order_at(name: str, **kwargs) -> ProductionOrder:
    """An order put at position `name` through the services, as the shop would get it there."""
    state, step, priority, proof, shipped = POSITIONS[name]
    walked_to = step if state == "in_production" else None
    order = make_order(state=OrderState(state), step=walked_to, **kwargs)
    if proof:
        make_proof(order)
    if shipped:
        first = order.line_items.order_by("pk").first()
        record_shipment(
            order=order.pk,
            carrier="ups",
            tracking_number="1Z999AA10123456784",
            items=[ShipLine(first.pk, shipped)],
            actor=None,
            source=EventSource.OPERATOR,
        )
    if priority != order.priority:
        update_order(order=order.pk, actor=None, source=EventSource.OPERATOR, priority=priority)
    order = ProductionOrder.objects.get(pk=order.pk)
    assert position_of(order) == POSITIONS[name]  # the setup put it where the row says
    return order


def outcome(order: ProductionOrder, *, source: EventSource, **change) -> str:
    """OK, or the refusal's words as the services give them (after the order's reference)."""
    try:
        update_order(order=order.pk, actor=None, source=source, **change)
    except IllegalTransition as refused:
        prefix = f"{order.reference}: "
        assert refused.message.startswith(prefix), refused.message
        return refused.message.removeprefix(prefix)
    return OK


# --- the words of the refusals --------------------------------------------------------------------

PAYMENT_SUBMITS = "Only a confirmed payment submits an order."
NOT_PAID = "The order is not paid yet: payment comes first."
NO_PROOF_WAITING = "No proof is waiting for the customer's answer."
PROOF_1_UNANSWERED = "The customer has not answered proof 1 yet."
APPROVE_FIRST = "Approve artwork first: the order is Submitted."
APPROVE_PROOF_FIRST = "Approve proof first: the order is Submitted."
START_FIRST = "Start production first: the order is Approved."
RELEASE_HOLD = "Release the hold first: the order is on hold."
FINISH_PRINTING = "Finish printing first: the order is at Printing."
MARK_READY = "Mark it Ready first: the order is at Finishing."
SAY_WHY = "Say why: a reason is needed to cancel an order that is in production."
LEFT_THE_SHOP = (
    "Part of the order has already left the shop: ship or hand over the rest, "
    "it can no longer be canceled."
)
FULFILLED_IS_FINAL = "The order is fulfilled: it cannot change any more."
CANCELED_IS_FINAL = "The order is canceled: it cannot change any more."


def no_way_back(state: str, to: str) -> str:
    return f"The order is {state}: it cannot go back to {to}."


SUBMITTED_BACK_TO_DRAFT = no_way_back("Submitted", "Draft")
APPROVED_BACK = {to: no_way_back("Approved", to) for to in ("Draft", "Submitted")}
IN_PRODUCTION_BACK = {
    to: no_way_back("In production", to) for to in ("Draft", "Submitted", "Approved")
}

C_CANCEL = "The customer cannot do this: cancel order is for an operator."
S_CANCEL = "Stripe cannot do this: cancel order is for an operator."
Y_CANCEL = "The system cannot do this: cancel order is for an operator."
# Until production starts, the online store cancels a store order too (its own cancellation).
C_CANCEL_EARLY = "The customer cannot do this: cancel order is for an operator or the online store."
S_CANCEL_EARLY = "Stripe cannot do this: cancel order is for an operator or the online store."
Y_CANCEL_EARLY = "The system cannot do this: cancel order is for an operator or the online store."
C_APPROVE = "The customer cannot do this: approve artwork is for an operator."
S_APPROVE = "Stripe cannot do this: approve artwork is for an operator."
Y_APPROVE = "The system cannot do this: approve artwork is for an operator."
C_START = "The customer cannot do this: start production is for an operator."
S_START = "Stripe cannot do this: start production is for an operator."
Y_START = "The system cannot do this: start production is for an operator."
C_FULFIL = "The customer cannot do this: mark fulfilled is for an operator."
S_FULFIL = "Stripe cannot do this: mark fulfilled is for an operator."
Y_FULFIL = "The system cannot do this: mark fulfilled is for an operator."

# A draft is canceled by its checkout expiring (Stripe, the system) or by an operator.
C_CANCEL_DRAFT = (
    "The customer cannot do this: cancel order is for an operator, stripe or the system."
)

# Only operators move an order on the shop floor.
C_STEP = "The customer cannot change the production status: operators do."
S_STEP = "Stripe cannot change the production status: operators do."
Y_STEP = "The system cannot change the production status: operators do."


def not_in_production(state: str) -> str:
    return f"Start production first: the order is {state}."


def only_moves_on(step: str) -> str:
    return f"The order is already at {step}: production only moves on."


# --- the changes of state -------------------------------------------------------------------------

# position: {target state: (customer, operator, stripe, system)}, without a reason given.
STATE_MOVES: dict[str, dict[str, tuple[str, str, str, str]]] = {
    "draft": {
        "submitted": (PAYMENT_SUBMITS, PAYMENT_SUBMITS, OK, PAYMENT_SUBMITS),
        "approved": (NOT_PAID, NOT_PAID, NOT_PAID, NOT_PAID),
        "in_production": (NOT_PAID, NOT_PAID, NOT_PAID, NOT_PAID),
        "fulfilled": (NOT_PAID, NOT_PAID, NOT_PAID, NOT_PAID),
        "canceled": (C_CANCEL_DRAFT, OK, OK, OK),
    },
    "submitted": {
        "draft": (SUBMITTED_BACK_TO_DRAFT,) * 4,
        "approved": (NO_PROOF_WAITING, OK, S_APPROVE, Y_APPROVE),
        "in_production": (NO_PROOF_WAITING, APPROVE_FIRST, APPROVE_FIRST, APPROVE_FIRST),
        "fulfilled": (NO_PROOF_WAITING, APPROVE_FIRST, APPROVE_FIRST, APPROVE_FIRST),
        "canceled": (C_CANCEL_EARLY, OK, S_CANCEL_EARLY, Y_CANCEL_EARLY),
    },
    # On hold: the artwork may still be approved (production may not start).
    "submitted, on hold": {
        "draft": (SUBMITTED_BACK_TO_DRAFT,) * 4,
        "approved": (NO_PROOF_WAITING, OK, S_APPROVE, Y_APPROVE),
        "in_production": (NO_PROOF_WAITING, APPROVE_FIRST, APPROVE_FIRST, APPROVE_FIRST),
        "fulfilled": (NO_PROOF_WAITING, APPROVE_FIRST, APPROVE_FIRST, APPROVE_FIRST),
        "canceled": (C_CANCEL_EARLY, OK, S_CANCEL_EARLY, Y_CANCEL_EARLY),
    },
    # A proof waits: only the customer's answer approves it; the operator may still cancel.
    "submitted, proof 1 waiting": {
        "draft": (SUBMITTED_BACK_TO_DRAFT,) * 4,
        "approved": (OK, PROOF_1_UNANSWERED, S_APPROVE, Y_APPROVE),
        "in_production": (
            APPROVE_PROOF_FIRST,
            PROOF_1_UNANSWERED,
            APPROVE_FIRST,
            APPROVE_FIRST,
        ),
        "fulfilled": (APPROVE_PROOF_FIRST, PROOF_1_UNANSWERED, APPROVE_FIRST, APPROVE_FIRST),
        "canceled": (C_CANCEL_EARLY, OK, S_CANCEL_EARLY, Y_CANCEL_EARLY),
    },
    "approved": {
        "draft": (APPROVED_BACK["Draft"],) * 4,
        "submitted": (APPROVED_BACK["Submitted"],) * 4,
        "in_production": (C_START, OK, S_START, Y_START),
        "fulfilled": (START_FIRST,) * 4,
        "canceled": (C_CANCEL_EARLY, OK, S_CANCEL_EARLY, Y_CANCEL_EARLY),
    },
    "approved, on hold": {
        "draft": (APPROVED_BACK["Draft"],) * 4,
        "submitted": (APPROVED_BACK["Submitted"],) * 4,
        "in_production": (C_START, RELEASE_HOLD, S_START, Y_START),
        "fulfilled": (START_FIRST, RELEASE_HOLD, START_FIRST, START_FIRST),
        "canceled": (C_CANCEL_EARLY, OK, S_CANCEL_EARLY, Y_CANCEL_EARLY),
    },
    "printing": {
        **{to.lower(): (words,) * 4 for to, words in IN_PRODUCTION_BACK.items()},
        "fulfilled": (C_FULFIL, FINISH_PRINTING, S_FULFIL, Y_FULFIL),
        "canceled": (C_CANCEL, SAY_WHY, S_CANCEL, Y_CANCEL),
    },
    "finishing, rush": {
        **{to.lower(): (words,) * 4 for to, words in IN_PRODUCTION_BACK.items()},
        "fulfilled": (C_FULFIL, MARK_READY, S_FULFIL, Y_FULFIL),
        "canceled": (C_CANCEL, SAY_WHY, S_CANCEL, Y_CANCEL),
    },
    "finishing, on hold": {
        **{to.lower(): (words,) * 4 for to, words in IN_PRODUCTION_BACK.items()},
        "fulfilled": (C_FULFIL, MARK_READY, S_FULFIL, Y_FULFIL),
        "canceled": (C_CANCEL, SAY_WHY, S_CANCEL, Y_CANCEL),
    },
    "ready": {
        **{to.lower(): (words,) * 4 for to, words in IN_PRODUCTION_BACK.items()},
        "fulfilled": (C_FULFIL, OK, S_FULFIL, Y_FULFIL),
        "canceled": (C_CANCEL, SAY_WHY, S_CANCEL, Y_CANCEL),
    },
    # The hold pauses the floor, not the hand-over of what is Ready (the fulfil rule asks Ready).
    "ready, on hold": {
        **{to.lower(): (words,) * 4 for to, words in IN_PRODUCTION_BACK.items()},
        "fulfilled": (C_FULFIL, OK, S_FULFIL, Y_FULFIL),
        "canceled": (C_CANCEL, SAY_WHY, S_CANCEL, Y_CANCEL),
    },
    "ready, 1 item shipped": {
        **{to.lower(): (words,) * 4 for to, words in IN_PRODUCTION_BACK.items()},
        "fulfilled": (C_FULFIL, OK, S_FULFIL, Y_FULFIL),
        "canceled": (C_CANCEL, LEFT_THE_SHOP, S_CANCEL, Y_CANCEL),
    },
    "fulfilled": dict.fromkeys(
        ("draft", "submitted", "approved", "in_production", "canceled"), (FULFILLED_IS_FINAL,) * 4
    ),
    "canceled": dict.fromkeys(
        ("draft", "submitted", "approved", "in_production", "fulfilled"), (CANCELED_IS_FINAL,) * 4
    ),
}

# An operator canceling an order in production, with a reason given this time.
CANCEL_WITH_A_REASON: dict[str, str] = {
    "printing": OK,
    "finishing, rush": OK,
    "finishing, on hold": OK,
    "ready": OK,
    "ready, on hold": OK,
    "ready, 1 item shipped": LEFT_THE_SHOP,
}

# Entering a state sets the production status; a canceled order keeps the stage it reached.
STEP_ON_ENTERING = {
    "submitted": "Queued",
    "approved": "Queued",
    "in_production": "Printing",
    "fulfilled": "Ready",
}


def test_the_table_covers_every_position_and_target():
    for name, (state, *_) in POSITIONS.items():
        assert set(STATE_MOVES[name]) == {s.value for s in OrderState} - {state}, name
        assert set(STEP_MOVES[name]) == {s.value for s in ProductionStatus} - {
            POSITIONS[name][1]
        }, name


def check_allowed_move(order: ProductionOrder, before: tuple, to: str, actor: str) -> None:
    moved = ProductionOrder.objects.get(pk=order.pk)
    assert moved.status == to
    assert moved.production_status == STEP_ON_ENTERING.get(to, before[1])
    assert moved.events.last().metadata["actor"] == actor


@pytest.mark.parametrize("name", POSITIONS)
@pytest.mark.parametrize("actor", SOURCES)
def test_every_change_of_state(name, actor):
    column = list(SOURCES).index(actor)
    order = order_at(name)
    for to, row in STATE_MOVES[name].items():
        expected = row[column]
        events = order.events.count()
        before = position_of(order)
        got = outcome(order, source=SOURCES[actor], status=to)
        assert got == expected, (name, actor, to)
        if expected == OK:
            check_allowed_move(order, before, to, actor)
            assert order.events.count() == events + 1
            order = order_at(name)  # back to the position for the next target
        else:
            assert position_of(order) == before and order.events.count() == events


@pytest.mark.parametrize(("name", "expected"), CANCEL_WITH_A_REASON.items())
def test_canceling_an_order_in_production_with_a_reason(name, expected):
    order = order_at(name)
    before = position_of(order)
    got = outcome(order, source=EventSource.OPERATOR, status="canceled", note="Misprint")
    assert got == expected
    if expected == OK:
        check_allowed_move(order, before, "canceled", "operator")
        assert order.events.last().message == "Misprint"


# --- the production steps -------------------------------------------------------------------------

# position: {target production status: (customer, operator, stripe, system)}.
STEP_MOVES: dict[str, dict[str, tuple[str, str, str, str]]] = {
    "draft": {
        to: (C_STEP, not_in_production("Draft"), S_STEP, Y_STEP)
        for to in ("Queued", "Printing", "Finishing", "Ready")
    },
    **{
        name: {
            to: (C_STEP, not_in_production(state), S_STEP, Y_STEP)
            for to in ("Spec Review", "Printing", "Finishing", "Ready")
        }
        for name, state in (
            ("submitted", "Submitted"),
            ("submitted, on hold", "Submitted"),
            ("submitted, proof 1 waiting", "Submitted"),
            ("approved", "Approved"),
            ("approved, on hold", "Approved"),
        )
    },
    "printing": {
        "Spec Review": (C_STEP, only_moves_on("Printing"), S_STEP, Y_STEP),
        "Queued": (C_STEP, only_moves_on("Printing"), S_STEP, Y_STEP),
        "Finishing": (C_STEP, OK, S_STEP, Y_STEP),
        "Ready": (C_STEP, FINISH_PRINTING, S_STEP, Y_STEP),  # no stage is skipped
    },
    "finishing, rush": {
        "Spec Review": (C_STEP, only_moves_on("Finishing"), S_STEP, Y_STEP),
        "Queued": (C_STEP, only_moves_on("Finishing"), S_STEP, Y_STEP),
        "Printing": (C_STEP, only_moves_on("Finishing"), S_STEP, Y_STEP),
        "Ready": (C_STEP, OK, S_STEP, Y_STEP),
    },
    # A paused order does not move on the floor; going back is refused for what it is.
    "finishing, on hold": {
        "Spec Review": (C_STEP, only_moves_on("Finishing"), S_STEP, Y_STEP),
        "Queued": (C_STEP, only_moves_on("Finishing"), S_STEP, Y_STEP),
        "Printing": (C_STEP, only_moves_on("Finishing"), S_STEP, Y_STEP),
        "Ready": (C_STEP, RELEASE_HOLD, S_STEP, Y_STEP),
    },
    **{
        name: {
            to: (C_STEP, only_moves_on("Ready"), S_STEP, Y_STEP)
            for to in ("Spec Review", "Queued", "Printing", "Finishing")
        }
        for name in ("ready", "ready, on hold", "ready, 1 item shipped")
    },
    "fulfilled": {
        to: (C_STEP, not_in_production("Fulfilled"), S_STEP, Y_STEP)
        for to in ("Spec Review", "Queued", "Printing", "Finishing")
    },
    "canceled": {
        to: (C_STEP, not_in_production("Canceled"), S_STEP, Y_STEP)
        for to in ("Queued", "Printing", "Finishing", "Ready")
    },
}


@pytest.mark.parametrize("name", POSITIONS)
@pytest.mark.parametrize("actor", SOURCES)
def test_every_production_step(name, actor):
    column = list(SOURCES).index(actor)
    order = order_at(name)
    for to, row in STEP_MOVES[name].items():
        expected = row[column]
        before = position_of(order)
        events = order.events.count()
        assert outcome(order, source=SOURCES[actor], production_status=to) == expected, (
            name,
            actor,
            to,
        )
        if expected == OK:
            moved = ProductionOrder.objects.get(pk=order.pk)
            assert (moved.status, moved.production_status) == (before[0], to)
            assert moved.events.count() == events + 1
            order = order_at(name)
        else:
            assert position_of(order) == before and order.events.count() == events


# --- priority, as an operator's PATCH changes it -------------------------------------------------

PRIORITY_IS_FIXED = "priority cannot change once the order is {}"

# position: {target priority: OK or the refusal}. Any order not final may be rushed, held or
# released; a final one keeps its priority (and its promised date).
PRIORITY_MOVES: dict[str, dict[str, str]] = {
    **{
        name: {"rush": OK, "hold": OK}
        for name in (
            "draft",
            "submitted",
            "submitted, proof 1 waiting",
            "approved",
            "printing",
            "ready",
            "ready, 1 item shipped",
        )
    },
    **{
        name: {"rush": OK, "standard": OK}
        for name in (
            "submitted, on hold",
            "approved, on hold",
            "finishing, on hold",
            "ready, on hold",
        )
    },
    "finishing, rush": {"standard": OK, "hold": OK},
    "fulfilled": {
        "rush": PRIORITY_IS_FIXED.format("fulfilled"),
        "hold": PRIORITY_IS_FIXED.format("fulfilled"),
    },
    "canceled": {
        "rush": PRIORITY_IS_FIXED.format("canceled"),
        "hold": PRIORITY_IS_FIXED.format("canceled"),
    },
}


@pytest.mark.parametrize("name", POSITIONS)
def test_every_priority_change_through_the_api(name, operator_api):
    for to, expected in PRIORITY_MOVES[name].items():
        order = order_at(name)
        before = position_of(order), order.due_date, order.events.count()
        response = operator_api.patch(
            f"/api/production/{order.pk}", {"priority": to}, format="json"
        )
        if expected == OK:
            assert response.status_code == 200, (name, to, response.json())
            assert response.json()["order"]["priority"] == Priority(to).label
            assert ProductionOrder.objects.get(pk=order.pk).priority == to
        else:
            assert response.status_code == 400, (name, to)
            assert response.json()["details"] == {"priority": [f"{order.reference}: {expected}"]}
            order = ProductionOrder.objects.get(pk=order.pk)
            assert (position_of(order), order.due_date, order.events.count()) == before


def test_a_final_order_keeps_its_priority_even_beside_an_allowed_change(operator_api, customer):
    """No priority change once final, whatever comes with it in the same PATCH."""
    for final in ("fulfilled", "canceled"):
        order = order_at(final, owner=customer)
        page_before = operator_api.get(f"/api/production/{order.pk}").json()["order"]
        response = operator_api.patch(
            f"/api/production/{order.pk}",
            {"priority": "rush", "notes": "Customer called"},
            format="json",
        )
        assert response.status_code == 400
        page_after = operator_api.get(f"/api/production/{order.pk}").json()["order"]
        assert (page_after["priority"], page_after["etaDays"], len(page_after["events"])) == (
            page_before["priority"],
            page_before["etaDays"],
            len(page_before["events"]),
        )


# --- a PATCH with several changes: the order they apply in ---------------------------------------


def test_ready_and_fulfil_in_one_patch(operator_api):
    """In production, the step comes first: take it to Ready and fulfil it in one request."""
    order = order_at("finishing, rush")
    response = operator_api.patch(
        f"/api/production/{order.pk}",
        {"productionStatus": "Ready", "status": "fulfilled", "notes": "Packed"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    answer = response.json()["order"]
    assert (answer["orderStatus"], answer["status"]) == ("fulfilled", "Ready")
    changes = [(e["metadata"]["from"], e["metadata"]["to"]) for e in answer["events"][-2:]]
    assert changes == [("Finishing", "Ready"), ("in_production", "fulfilled")]
    assert answer["events"][-1]["message"] == "Packed"


def test_start_production_and_move_on_in_one_patch(operator_api):
    """Not yet in production, the state comes first: start it, then take the next step."""
    order = order_at("approved")
    response = operator_api.patch(
        f"/api/production/{order.pk}",
        {"status": "in_production", "productionStatus": "Finishing"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    answer = response.json()["order"]
    assert (answer["orderStatus"], answer["status"]) == ("in_production", "Finishing")
    changes = [(e["metadata"]["from"], e["metadata"]["to"]) for e in answer["events"][-2:]]
    assert changes == [("approved", "in_production"), ("Printing", "Finishing")]


def test_release_the_hold_and_start_production_in_one_patch(operator_api):
    """Priority comes before the state: releasing a hold lets the same request start work."""
    order = order_at("approved, on hold")
    response = operator_api.patch(
        f"/api/production/{order.pk}",
        {"priority": "standard", "status": "in_production"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    answer = response.json()["order"]
    assert (answer["orderStatus"], answer["priority"]) == ("in_production", "Standard")


def test_a_refused_part_of_a_patch_changes_nothing(operator_api):
    order = order_at("printing")
    before = position_of(order), order.events.count()
    response = operator_api.patch(
        f"/api/production/{order.pk}",
        {"priority": "rush", "productionStatus": "Finishing", "status": "fulfilled"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["details"] == {"status": [f"{order.reference}: {MARK_READY}"]}
    assert (position_of(order), order.events.count()) == before


# --- what each surface offers an operator --------------------------------------------------------

# position: the states an operator's buttons offer (a reason, where needed, is asked for).
OFFERED: dict[str, list[str]] = {
    "draft": ["canceled"],
    "submitted": ["approved", "canceled"],
    "submitted, on hold": ["approved", "canceled"],
    "submitted, proof 1 waiting": ["canceled"],
    "approved": ["in_production", "canceled"],
    "approved, on hold": ["canceled"],
    "printing": ["canceled"],
    "finishing, rush": ["canceled"],
    "finishing, on hold": ["canceled"],
    "ready": ["fulfilled", "canceled"],
    "ready, on hold": ["fulfilled", "canceled"],
    "ready, 1 item shipped": ["fulfilled"],
    "fulfilled": [],
    "canceled": [],
}


def test_surfaces_offer_exactly_the_allowed_moves(client, operator):
    """The ops order page and the admin's change page offer what the table allows."""
    from production.admin import OrderChangeForm

    client.force_login(operator)
    for name, offered in OFFERED.items():
        order = order_at(name)
        page = client.get(f"/ops/orders/{order.pk}/").context
        assert [t["value"] for t in page["transitions"] if t["refusal"] is None] == offered, name
        admin = OrderChangeForm(order=order).fields["move_to"].choices
        assert [value for value, _ in admin if value] == offered, name


def test_the_bulk_menu_offers_every_state_an_operator_may_ever_set():
    from ops.forms import BULK_CHOICES

    states = [value for value, _ in dict(BULK_CHOICES)["Order state"]]
    assert states == [
        "status:approved",
        "status:in_production",
        "status:fulfilled",
        "status:canceled",
    ]


# --- who decides on a proof -----------------------------------------------------------------------
#
# The customer answers their proof; an operator records an answer the customer gave by phone,
# and only an operator may (on the ops page, or the API with "via": "phone").


def decision_url(order: ProductionOrder) -> str:
    return f"/api/production/{order.pk}/proofs/1/decision"


def still_waiting(order: ProductionOrder) -> bool:
    order = ProductionOrder.objects.get(pk=order.pk)
    proof = order.proofs.get(revision=1)
    return (order.status, order.waiting_proof_revision, proof.state, proof.decided_at) == (
        "submitted",
        1,
        ArtworkProof.State.WAITING,
        None,
    )


def test_only_an_operator_records_a_phone_decision_through_the_api(
    customer, customer_api, operator_api
):
    order = order_at("submitted, proof 1 waiting", owner=customer)
    events = order.events.count()
    body = {"decision": "approve", "comment": "", "via": "phone"}

    refused = customer_api.post(decision_url(order), body, format="json")
    assert refused.status_code == 403
    assert refused.json()["details"] == {
        "detail": ["Only operators record a decision given by phone."]
    }
    assert still_waiting(order) and order.events.count() == events

    recorded = operator_api.post(decision_url(order), body, format="json")
    assert recorded.status_code == 200
    assert recorded.json()["order"]["events"][-1]["message"] == "Proof 1 approved (by phone)"


def test_an_operator_does_not_answer_as_the_customer_through_the_api(customer, operator_api):
    order = order_at("submitted, proof 1 waiting", owner=customer)
    body = {"decision": "approve", "comment": "", "via": "customer"}
    assert operator_api.post(decision_url(order), body, format="json").status_code == 403
    assert still_waiting(order)


def test_only_the_customer_answers_on_the_order_page(client, customer, other_customer, operator):
    """The customer's page takes the customer's own answer: an operator (who records a phone
    answer on the ops page) or another customer posting its form is refused, and nothing moves."""
    order = order_at("submitted, proof 1 waiting", owner=customer)
    url = f"/orders/{order.pk}/proofs/1/decision"
    for someone_else in (operator, other_customer):
        client.force_login(someone_else)
        assert client.post(url, {"decision": "approve"}).status_code == 403
        assert client.post(url, {"decision": "approve", "via": "phone"}).status_code == 403
        assert still_waiting(order)

    client.force_login(customer)
    client.post(url, {"decision": "approve", "via": "phone"})  # the page has no phone answers
    proof = ProductionOrder.objects.get(pk=order.pk).proofs.get(revision=1)
    assert (proof.state, proof.decided_via, proof.decided_by) == ("approved", "customer", customer)


def test_only_an_operator_records_a_phone_decision_on_the_ops_page(client, customer, operator):
    order = order_at("submitted, proof 1 waiting", owner=customer)
    url = f"/ops/orders/{order.pk}/proofs/1/phone-decision"
    client.force_login(customer)
    assert client.post(url, {"decision": "approve"}).status_code in (403, 404)
    assert still_waiting(order)
    client.force_login(operator)
    client.post(url, {"decision": "approve"})
    proof = ProductionOrder.objects.get(pk=order.pk).proofs.get(revision=1)
    assert (proof.state, proof.decided_via, proof.decided_by) == ("approved", "phone", operator)


@pytest.mark.parametrize(
    ("source", "via"),
    [(EventSource.CUSTOMER, "phone"), (EventSource.OPERATOR, "customer")],
    ids=["the customer by phone", "an operator as the customer"],
)
def test_the_service_takes_a_phone_answer_from_operators_only(customer, source, via):
    order = order_at("submitted, proof 1 waiting", owner=customer)
    with pytest.raises(OrderError) as refused:
        decide_proof(
            order=order.pk, revision=1, decision="approve", actor=customer, source=source, via=via
        )
    assert refused.value.field == "via"  # the words are the API's, checked above
    assert still_waiting(order)


def test_rulebook_actors_are_the_four_of_the_table_and_the_store():
    # The online store pays and cancels store orders only (tests/shopify shows its moves).
    assert [actor.value for actor in Actor] == [*SOURCES, "store"]
