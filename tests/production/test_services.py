import pytest
from django.utils import timezone

from production.exceptions import (
    IdempotencyConflict,
    IllegalTransition,
    InvalidOrder,
    OrderError,
    PaymentMismatch,
)
from production.lifecycle import (
    EventSource,
    OrderState,
    Priority,
    ProductionStatus,
)
from production.models import FulfillmentEvent, LineItem, OrderNote, ProductionOrder
from production.pricing import SizeQuantity
from production.services.messages import add_customer_message
from production.services.orders import (
    cancel_unpaid_order,
    create_draft_order,
    submit_paid_order,
    transition_order,
    update_order,
)
from tests.factories import GarmentFactory, UserFactory, make_order, operator_user

pytestmark = pytest.mark.django_db


def snapshot():
    """Everything a failed request must leave untouched."""
    return (
        list(ProductionOrder.objects.order_by("pk").values()),
        list(LineItem.objects.order_by("pk").values()),
        list(FulfillmentEvent.objects.order_by("pk").values()),
        list(OrderNote.objects.order_by("pk").values()),
    )


def draft(**kwargs):
    return make_order(**kwargs)


class TestCreateDraft:
    def test_prices_are_computed_on_the_server(self, garment, customer):
        order = create_draft_order(
            owner=customer,
            garment_gid=garment.shopify_gid,
            design_url="https://cdn.example.com/d.png",
            sizes=[SizeQuantity("M", 2), SizeQuantity("XXL", 3)],
        )
        # 2 × 1800 + 3 × (1800 + 200)
        assert order.subtotal_amount == 9600
        assert order.rush_surcharge_amount == 0
        assert order.total_amount == 9600
        assert order.currency == "usd"
        assert order.total_quantity == 5
        assert [(li.size, li.quantity, li.unit_amount) for li in order.line_items.all()] == [
            ("M", 2, 1800),
            ("XXL", 3, 2000),
        ]

    def test_rush_adds_a_quarter_of_the_subtotal(self, garment, customer):
        order = make_order(
            owner=customer, garment=garment, sizes=[("M", 3)], priority=Priority.RUSH
        )
        assert (order.subtotal_amount, order.rush_surcharge_amount, order.total_amount) == (
            5400,
            1350,
            6750,
        )

    def test_draft_starts_in_spec_review_with_one_event(self, garment, customer):
        order = make_order(owner=customer, garment=garment)
        assert order.status == OrderState.DRAFT
        assert order.production_status == ProductionStatus.SPEC_REVIEW
        [event] = order.events.all()
        assert (event.status, event.message, event.source) == (
            "Spec Review",
            "Order created, awaiting payment",
            EventSource.CUSTOMER,
        )
        assert event.actor == customer
        assert event.metadata == {
            "source": "customer",
            "actor": "customer",
            "field": "status",
            "from": None,
            "to": "draft",
        }

    def test_references_are_sequential_and_human_readable(self, garment, customer):
        refs = [make_order(owner=customer, garment=garment).reference for _ in range(3)]
        numbers = [int(r.removeprefix("ORD-")) for r in refs]
        assert all(r.startswith("ORD-") and len(r) == 10 for r in refs)
        assert numbers == sorted(numbers) and len(set(numbers)) == 3

    @pytest.mark.parametrize(
        ("sizes", "message"),
        [
            ([("XS", 1)], "'XS' is not offered"),
            ([("M", 1), ("M", 2)], "'M' appears more than once"),
            ([], "At least one size"),
        ],
    )
    def test_bad_sizes_write_nothing(self, garment, customer, sizes, message):
        before = snapshot()
        with pytest.raises(InvalidOrder) as exc:
            create_draft_order(
                owner=customer,
                garment_gid=garment.shopify_gid,
                design_url="https://cdn.example.com/d.png",
                sizes=[SizeQuantity(s, q) for s, q in sizes],
            )
        assert message in " ".join(exc.value.details["sizes"])
        assert snapshot() == before

    def test_inactive_garment_is_refused(self, customer):
        garment = GarmentFactory(is_active=False)
        with pytest.raises(InvalidOrder) as exc:
            make_order(owner=customer, garment=garment)
        assert "garmentId" in exc.value.details
        assert ProductionOrder.objects.count() == 0

    def test_same_idempotency_key_returns_the_first_order(self, garment, customer):
        kwargs = {
            "owner": customer,
            "garment_gid": garment.shopify_gid,
            "design_url": "https://cdn.example.com/d.png",
            "sizes": [SizeQuantity("M", 1)],
            "idempotency_key": "key-1",
        }
        first = create_draft_order(**kwargs)
        second = create_draft_order(**kwargs)
        assert first.pk == second.pk
        assert ProductionOrder.objects.count() == 1
        assert FulfillmentEvent.objects.count() == 1

    def test_idempotency_key_reused_for_another_order_is_refused(self, garment, customer):
        kwargs = {
            "owner": customer,
            "garment_gid": garment.shopify_gid,
            "design_url": "https://cdn.example.com/d.png",
            "idempotency_key": "key-1",
        }
        create_draft_order(sizes=[SizeQuantity("M", 1)], **kwargs)
        with pytest.raises(IdempotencyConflict):
            create_draft_order(sizes=[SizeQuantity("M", 2)], **kwargs)
        assert ProductionOrder.objects.count() == 1

    def test_idempotency_keys_are_per_user(self, garment, customer, other_customer):
        for owner in (customer, other_customer):
            create_draft_order(
                owner=owner,
                garment_gid=garment.shopify_gid,
                design_url="https://cdn.example.com/d.png",
                sizes=[SizeQuantity("M", 1)],
                idempotency_key="shared",
            )
        assert ProductionOrder.objects.count() == 2


def order_in(state: OrderState, **kwargs) -> ProductionOrder:
    return make_order(state=state, **kwargs)


class TestTransitions:
    # Every (state, step, priority, actor, target) against the rulebook: test_rulebook.py.
    def test_moving_to_the_current_state_is_a_no_op(self):
        order = order_in(OrderState.APPROVED)
        count = order.events.count()
        transition_order(
            order=order, to=OrderState.APPROVED, actor=None, source=EventSource.OPERATOR
        )
        assert order.events.count() == count

    def test_a_held_order_cannot_enter_production(self):
        order = order_in(OrderState.APPROVED)
        update_order(order=order, actor=None, source=EventSource.OPERATOR, priority=Priority.HOLD)
        with pytest.raises(IllegalTransition, match="Release the hold first"):
            transition_order(
                order=order, to=OrderState.IN_PRODUCTION, actor=None, source=EventSource.OPERATOR
            )
        # Releasing the hold and starting production in one request works (priority goes first).
        update_order(
            order=order,
            actor=None,
            source=EventSource.OPERATOR,
            priority=Priority.STANDARD,
            status=OrderState.IN_PRODUCTION,
        )
        order.refresh_from_db()
        assert (order.status, order.priority) == (OrderState.IN_PRODUCTION, Priority.STANDARD)

    def test_a_failed_part_of_a_change_undoes_the_whole_change(self):
        order = order_in(OrderState.FULFILLED)
        before = snapshot()
        with pytest.raises(IllegalTransition):
            update_order(
                order=order,
                actor=None,
                source=EventSource.OPERATOR,
                priority=Priority.RUSH,
                status=OrderState.APPROVED,
            )
        assert snapshot() == before

    def test_priority_then_state_change_write_one_event_each(self):
        order = order_in(OrderState.SUBMITTED)
        count = order.events.count()
        update_order(
            order=order,
            actor=None,
            source=EventSource.OPERATOR,
            priority=Priority.RUSH,
            status=OrderState.APPROVED,
            note="Bumped for the fair",
        )
        events = list(order.events.all())[count:]
        assert [(e.kind, e.metadata["from"], e.metadata["to"]) for e in events] == [
            ("priority", "standard", "rush"),
            ("state", "submitted", "approved"),
        ]
        assert events[-1].message == "Bumped for the fair"
        assert events[0].message == "Priority changed to Rush"

    def test_a_note_without_a_change_is_an_internal_note(self):
        order = order_in(OrderState.SUBMITTED)
        operator = operator_user()
        count = order.events.count()
        update_order(
            order=order, actor=operator, source=EventSource.OPERATOR, note="Check the print area"
        )
        assert order.events.count() == count
        [note] = OrderNote.objects.filter(order=order)
        assert (note.body, note.author) == ("Check the print area", operator)


class TestProductionStatus:
    def test_advances_forward_within_production(self):
        order = order_in(OrderState.IN_PRODUCTION)
        assert order.production_status == ProductionStatus.PRINTING
        for step in (ProductionStatus.FINISHING, ProductionStatus.READY):
            update_order(
                order=order, actor=None, source=EventSource.OPERATOR, production_status=step
            )
            order.refresh_from_db()
            assert order.production_status == step
        event = order.events.last()
        assert (event.status, event.metadata["from"], event.metadata["to"]) == (
            "Ready",
            "Finishing",
            "Ready",
        )

    def test_never_goes_backwards(self):
        order = order_in(OrderState.IN_PRODUCTION)
        update_order(
            order=order,
            actor=None,
            source=EventSource.OPERATOR,
            production_status=ProductionStatus.FINISHING,
        )
        with pytest.raises(IllegalTransition, match="production only moves on"):
            update_order(
                order=order,
                actor=None,
                source=EventSource.OPERATOR,
                production_status=ProductionStatus.PRINTING,
            )

    @pytest.mark.parametrize("state", [OrderState.SUBMITTED, OrderState.APPROVED])
    def test_only_while_in_production(self, state):
        order = order_in(state)
        with pytest.raises(IllegalTransition, match="Start production first"):
            update_order(
                order=order,
                actor=None,
                source=EventSource.OPERATOR,
                production_status=ProductionStatus.FINISHING,
            )


class TestPayment:
    def test_payment_submits_and_queues_the_order(self):
        order = order_in(OrderState.DRAFT)
        order, changed = submit_paid_order(
            order=order,
            amount_total=order.total_amount,
            currency="USD",
            checkout_session_id="cs_test_1",
        )
        assert changed
        assert (order.status, order.production_status) == ("submitted", "Queued")
        assert order.submitted_at is not None
        assert order.due_date == timezone.localdate() + timezone.timedelta(days=7)
        event = order.events.last()
        assert (event.status, event.message, event.source) == (
            "Queued",
            "Payment confirmed, order queued",
            "stripe",
        )

    def test_second_confirmation_changes_nothing(self):
        order = order_in(OrderState.SUBMITTED)
        before = snapshot()
        _, changed = submit_paid_order(order=order, amount_total=order.total_amount, currency="usd")
        assert not changed
        assert snapshot() == before

    @pytest.mark.parametrize(("delta", "currency"), [(-1, "usd"), (1, "usd"), (0, "eur")])
    def test_wrong_amount_or_currency_is_refused(self, delta, currency):
        order = order_in(OrderState.DRAFT)
        before = snapshot()
        with pytest.raises(PaymentMismatch):
            submit_paid_order(
                order=order, amount_total=order.total_amount + delta, currency=currency
            )
        assert snapshot() == before

    def test_expiry_never_cancels_a_paid_order(self):
        order = order_in(OrderState.SUBMITTED)
        _, changed = cancel_unpaid_order(order=order, reason="Checkout expired")
        assert not changed
        order.refresh_from_db()
        assert order.status == OrderState.SUBMITTED


class TestMessagesAndNotes:
    def test_customer_message_is_an_event_on_the_timeline(self):
        order = order_in(OrderState.APPROVED)
        operator = operator_user()
        event = add_customer_message(
            order=order, author=operator, body="Proof attached", source=EventSource.OPERATOR
        )
        assert (event.kind, event.status, event.message) == ("message", "Queued", "Proof attached")

    def test_empty_message_is_refused(self):
        order = order_in(OrderState.APPROVED)
        with pytest.raises(OrderError):
            add_customer_message(order=order, author=None, body="   ", source=EventSource.OPERATOR)

    def test_events_are_append_only(self):
        event = order_in(OrderState.DRAFT).events.first()
        event.message = "rewritten"
        with pytest.raises(ValueError, match="append-only"):
            event.save()


class TestEta:
    def test_draft_shows_full_lead_time(self):
        assert order_in(OrderState.DRAFT).eta_days == 7
        assert order_in(OrderState.DRAFT, priority=Priority.RUSH).eta_days == 3

    def test_rush_shortens_a_paid_order(self):
        order = order_in(OrderState.SUBMITTED)
        assert order.eta_days == 7
        update_order(order=order, actor=None, source=EventSource.OPERATOR, priority=Priority.RUSH)
        order.refresh_from_db()
        assert order.eta_days == 3

    @pytest.mark.parametrize("state", [OrderState.FULFILLED, OrderState.CANCELED])
    def test_final_orders_have_nothing_to_wait_for(self, state):
        assert order_in(state).eta_days == 0


def test_factories_make_distinct_users():
    assert UserFactory().pk != UserFactory().pk
