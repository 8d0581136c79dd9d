"""The order rules beyond the state moves (production/lifecycle.py), spelled out: who records a
phone decision, when a priority may change, a pickup announced once, what a combined change
applies first, when an order is payable. Each is checked in the rulebook and through the service
or surface that asks it."""

from datetime import datetime

import pytest
from django.utils import timezone

from production.exceptions import IllegalTransition, OrderError
from production.lifecycle import (
    Actor,
    EventSource,
    OrderFacts,
    OrderState,
    Priority,
    ProductionStatus,
    change_sequence,
    payment_refusal,
    pickup_notice_refusal,
    priority_refusal,
    proof_answer_refusal,
)
from production.models import ArtworkProof, ProductionOrder
from production.services.orders import update_order
from production.services.proofs import decide_proof
from production.services.shipping import announce_pickup
from tests.factories import make_order, make_proof

PHONE_ONLY_OPERATORS = "Only operators record a decision given by phone."
CUSTOMER_ONLY = (
    'Only the customer decides on a proof; operators record a phone decision with "via": "phone".'
)


def facts(status, step=ProductionStatus.QUEUED, priority=Priority.STANDARD, **more):
    return OrderFacts(OrderState(status), ProductionStatus(step), Priority(priority), **more)


# --- who records a customer's answer to a proof -------------------------------------------------


@pytest.mark.parametrize(
    ("by_phone", "operator", "owner", "expected"),
    [
        (False, False, True, None),  # the customer, on the site or the API
        (False, True, True, None),  # an operator answering their own order
        (False, True, False, CUSTOMER_ONLY),  # an operator, not by phone
        (False, False, False, CUSTOMER_ONLY),
        (True, True, False, None),  # an operator records the customer's phone answer
        (True, True, True, None),
        (True, False, True, PHONE_ONLY_OPERATORS),  # the customer cannot claim a phone call
        (True, False, False, PHONE_ONLY_OPERATORS),
    ],
)
def test_who_records_an_answer_to_a_proof(by_phone, operator, owner, expected):
    assert proof_answer_refusal(by_phone=by_phone, operator=operator, owner=owner) == expected


@pytest.mark.django_db
class TestPhoneDecisionsThroughTheService:
    @pytest.fixture
    def waiting(self, customer):
        order = make_order(owner=customer, state=OrderState.SUBMITTED)
        make_proof(order)
        return order

    def test_a_customer_source_cannot_record_a_phone_answer(self, waiting, customer):
        with pytest.raises(OrderError) as refused:
            decide_proof(
                order=waiting.pk,
                revision=1,
                decision="approve",
                actor=customer,
                source=EventSource.CUSTOMER,
                via=ArtworkProof.Via.PHONE,
            )
        assert refused.value.message == PHONE_ONLY_OPERATORS
        assert ProductionOrder.objects.get(pk=waiting.pk).status == OrderState.SUBMITTED

    def test_an_operator_source_answers_only_by_phone(self, waiting, operator):
        with pytest.raises(OrderError) as refused:
            decide_proof(
                order=waiting.pk,
                revision=1,
                decision="approve",
                actor=operator,
                source=EventSource.OPERATOR,
                via=ArtworkProof.Via.CUSTOMER,
            )
        assert refused.value.message == CUSTOMER_ONLY
        decide_proof(
            order=waiting.pk,
            revision=1,
            decision="approve",
            actor=operator,
            source=EventSource.OPERATOR,
            via=ArtworkProof.Via.PHONE,
        )
        assert ProductionOrder.objects.get(pk=waiting.pk).status == OrderState.APPROVED

    def test_the_api_refuses_a_customers_phone_claim_in_the_rulebooks_words(
        self, waiting, customer_api
    ):
        response = customer_api.post(
            f"/api/production/{waiting.pk}/proofs/1/decision",
            {"decision": "approve", "via": "phone"},
            format="json",
        )
        assert response.status_code == 403
        assert response.json()["details"] == {"detail": [PHONE_ONLY_OPERATORS]}

    def test_the_api_refuses_an_operator_answering_for_the_customer_in_the_rulebooks_words(
        self, waiting, operator_api
    ):
        response = operator_api.post(
            f"/api/production/{waiting.pk}/proofs/1/decision",
            {"decision": "approve"},
            format="json",
        )
        assert response.status_code == 403
        assert response.json()["details"] == {"detail": [CUSTOMER_ONLY]}


# --- priority ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (OrderState.DRAFT, None),
        (OrderState.SUBMITTED, None),
        (OrderState.APPROVED, None),
        (OrderState.IN_PRODUCTION, None),
        (OrderState.FULFILLED, "priority cannot change once the order is fulfilled"),
        (OrderState.CANCELED, "priority cannot change once the order is canceled"),
    ],
)
def test_priority_changes_until_the_order_is_final(status, expected):
    assert priority_refusal(facts(status)) == expected


@pytest.mark.django_db
@pytest.mark.parametrize("state", [OrderState.FULFILLED, OrderState.CANCELED])
def test_the_service_keeps_a_final_orders_priority(state):
    order = make_order(state=state)
    with pytest.raises(IllegalTransition) as refused:
        update_order(order=order, actor=None, source=EventSource.OPERATOR, priority=Priority.RUSH)
    assert refused.value.message == (
        f"{order.reference}: priority cannot change once the order is {state.value}"
    )
    assert ProductionOrder.objects.get(pk=order.pk).priority == Priority.STANDARD


# --- the pickup notice ---------------------------------------------------------------------------


def test_a_pickup_is_announced_once():
    ready = facts(OrderState.IN_PRODUCTION, ProductionStatus.READY)
    told = timezone.make_aware(datetime(2025, 3, 4, 15, 30))
    assert pickup_notice_refusal(ready, actor=Actor.OPERATOR, told_at=None) is None
    assert pickup_notice_refusal(ready, actor=Actor.OPERATOR, told_at=told) == (
        "the customer was already told it is ready for pickup (2025-03-04 15:30)."
    )


def test_a_pickup_notice_needs_what_shipping_needs_first():
    printing = facts(OrderState.IN_PRODUCTION, ProductionStatus.PRINTING)
    assert pickup_notice_refusal(printing, actor=Actor.OPERATOR, told_at=None) == (
        "Finish printing first: the order is at Printing."
    )
    ready = facts(OrderState.IN_PRODUCTION, ProductionStatus.READY)
    assert pickup_notice_refusal(ready, actor=Actor.CUSTOMER, told_at=None) == (
        "The customer cannot record a shipment: operators do."
    )


@pytest.mark.django_db
def test_the_service_announces_a_pickup_once(settings, operator):
    settings.PICKUP_ADDRESS = "12 Demo Street"
    order = make_order(state=OrderState.IN_PRODUCTION, step=ProductionStatus.READY)
    announce_pickup(order=order.pk, actor=operator)
    with pytest.raises(OrderError) as refused:
        announce_pickup(order=order.pk, actor=operator)
    assert refused.value.message.startswith(
        f"{order.reference}: the customer was already told it is ready for pickup ("
    )
    assert order.events.filter(kind="pickup").count() == 1


# --- what a combined change applies first --------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "step", "expected"),
    [
        (
            OrderState.SUBMITTED,
            ProductionStatus.QUEUED,
            ("priority", "status", "production_status"),
        ),
        (OrderState.APPROVED, ProductionStatus.QUEUED, ("priority", "status", "production_status")),
        (
            OrderState.IN_PRODUCTION,
            ProductionStatus.FINISHING,
            ("priority", "production_status", "status"),
        ),
    ],
)
def test_the_order_of_a_combined_change(status, step, expected):
    assert change_sequence(facts(status, step)) == expected


@pytest.mark.django_db
class TestCombinedChangesThroughTheService:
    def test_ready_and_fulfil_in_one_request(self, operator):
        order = make_order(state=OrderState.IN_PRODUCTION, step=ProductionStatus.FINISHING)
        update_order(
            order=order,
            actor=operator,
            source=EventSource.OPERATOR,
            status=OrderState.FULFILLED,
            production_status=ProductionStatus.READY,
        )
        order = ProductionOrder.objects.get(pk=order.pk)
        assert (order.status, order.production_status) == ("fulfilled", "Ready")
        fields = list(order.events.order_by("id").values_list("metadata__field", flat=True))
        assert fields[-2:] == ["production_status", "status"]

    def test_start_production_and_move_on_in_one_request(self, operator):
        order = make_order(state=OrderState.APPROVED)
        update_order(
            order=order,
            actor=operator,
            source=EventSource.OPERATOR,
            status=OrderState.IN_PRODUCTION,
            production_status=ProductionStatus.FINISHING,
        )
        order = ProductionOrder.objects.get(pk=order.pk)
        assert (order.status, order.production_status) == ("in_production", "Finishing")

    def test_release_the_hold_and_start_production_in_one_request(self, operator):
        order = make_order(state=OrderState.APPROVED)
        update_order(order=order, actor=operator, source=EventSource.OPERATOR, priority="hold")
        update_order(
            order=order,
            actor=operator,
            source=EventSource.OPERATOR,
            priority=Priority.STANDARD,
            status=OrderState.IN_PRODUCTION,
        )
        order = ProductionOrder.objects.get(pk=order.pk)
        assert (order.status, order.priority) == ("in_production", "standard")


# --- payable only while a draft ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (OrderState.DRAFT, None),
        (OrderState.SUBMITTED, "ORD-000042 is submitted: nothing to pay."),
        (OrderState.APPROVED, "ORD-000042 is approved: nothing to pay."),
        (OrderState.IN_PRODUCTION, "ORD-000042 is in_production: nothing to pay."),
        (OrderState.FULFILLED, "ORD-000042 is fulfilled: nothing to pay."),
        (OrderState.CANCELED, "ORD-000042 is canceled: nothing to pay."),
    ],
)
def test_payable_only_while_a_draft(status, expected):
    assert payment_refusal(facts(status), reference="ORD-000042") == expected


def test_the_payment_refusal_names_the_order_in_plain_words_by_default():
    assert payment_refusal(facts(OrderState.CANCELED)) == "The order is canceled: nothing to pay."


@pytest.mark.django_db
def test_checkout_of_an_order_no_longer_a_draft_is_refused_in_the_rulebooks_words():
    from payments.services import start_checkout

    order = make_order(state=OrderState.CANCELED)
    with pytest.raises(OrderError) as refused:
        start_checkout(order=order)
    assert refused.value.message == f"{order.reference} is canceled: nothing to pay."
