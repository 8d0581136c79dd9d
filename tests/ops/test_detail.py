import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext

from production.lifecycle import EventSource, OrderState, Priority
from production.models import FulfillmentEvent, OrderNote, ProductionOrder
from production.services.messages import add_customer_message, add_order_note
from production.services.orders import attach_checkout_session, submit_paid_order, update_order
from tests.factories import make_order

pytestmark = pytest.mark.django_db


def act(client, order, **data):
    response = client.post(f"/ops/orders/{order.id}/actions", data)
    assert response.status_code == 302
    assert response["Location"] == f"/ops/orders/{order.id}/"
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    client.get(response["Location"])  # where the operator lands: the messages are shown once
    return messages


def buttons(client, order) -> list[str]:
    return [t["label"] for t in client.get(f"/ops/orders/{order.id}/").context["transitions"]]


def test_the_page_shows_the_whole_order(ops_client, customer, garment, operator):
    order = make_order(
        owner=customer, garment=garment, sizes=[("M", 2), ("XXL", 1)], state=OrderState.SUBMITTED
    )
    attach_checkout_session(
        order=order, session_id="cs_test_123", checkout_url="https://checkout.example/cs"
    )
    add_order_note(order=order, author=operator, body="Check the ink colour")
    response = ops_client.get(f"/ops/orders/{order.id}/")
    html = response.content.decode()
    assert f"<h1>{order.reference}" in html
    # The design through the app's safe fetch, never straight from the customer's server.
    assert f'src="/ops/orders/{order.id}/design"' in html
    assert 'src="https://cdn.example.com/design.png"' not in html
    assert "Classic Tee" in html and garment.shopify_gid in html
    assert "customer@example.com" in html
    assert (
        '<td data-label="Size">XXL</td><td class="num" data-label="Quantity">1</td>'
        '<td data-label="Technique">Direct to garment</td>'
    ) in html
    assert "$56.00" in html  # 2 × 18.00 + 1 × 20.00
    assert "cs_test_123" in html
    assert "Order created, awaiting payment" in html
    assert "Payment confirmed, order queued" in html
    assert "Check the ink colour" in html


def test_the_detail_page_runs_a_fixed_number_of_queries(ops_client, garment, operator):
    small = make_order(garment=garment, state=OrderState.SUBMITTED)
    big = make_order(
        garment=garment, sizes=[("S", 1), ("M", 1), ("L", 1), ("XL", 1)], operator=operator
    )
    submit_paid_order(order=big, amount_total=big.total_amount, currency="usd")
    for i in range(5):
        add_order_note(order=big, author=operator, body=f"note {i}")
        add_customer_message(
            order=big, author=operator, body=f"msg {i}", source=EventSource.OPERATOR
        )
    ops_client.get("/ops/orders")  # the operator's access, cached from their first page
    counts = []
    for order in (small, big):
        with CaptureQueriesContext(connection) as queries:
            ops_client.get(f"/ops/orders/{order.id}/")
        counts.append(len(queries))
    assert counts[0] == counts[1]


@pytest.mark.parametrize(
    ("state", "priority", "expected"),
    [
        (OrderState.DRAFT, Priority.STANDARD, ["Cancel order"]),
        (OrderState.SUBMITTED, Priority.STANDARD, ["Approve artwork", "Cancel order"]),
        (OrderState.APPROVED, Priority.STANDARD, ["Start production", "Cancel order"]),
        (OrderState.IN_PRODUCTION, Priority.RUSH, ["Mark fulfilled", "Cancel order"]),
        (OrderState.FULFILLED, Priority.STANDARD, []),
        (OrderState.CANCELED, Priority.STANDARD, []),
    ],
)
def test_buttons_for_exactly_the_allowed_moves(ops_client, garment, state, priority, expected):
    order = make_order(garment=garment, state=state, priority=priority)
    assert buttons(ops_client, order) == expected


def test_a_held_order_cannot_start_production(ops_client, garment, operator):
    order = make_order(
        garment=garment, state=OrderState.APPROVED, priority=Priority.HOLD, operator=operator
    )
    transitions = ops_client.get(f"/ops/orders/{order.id}/").context["transitions"]
    assert [(t["label"], t["refusal"]) for t in transitions] == [
        ("Start production", "Release the hold first: the order is on hold."),
        ("Cancel order", None),
    ]
    assert act(ops_client, order, action="status", value="in_production") == [
        f"{order.reference}: Release the hold first: the order is on hold."
    ]
    assert act(ops_client, order, action="priority", value="standard") == [
        f"{order.reference}: Standard."
    ]
    assert act(ops_client, order, action="status", value="in_production") == [
        f"{order.reference}: In production."
    ]
    assert ProductionOrder.objects.get(pk=order.pk).production_status == "Printing"


def test_production_status_advances_one_step_at_a_time(ops_client, garment, operator):
    order = make_order(garment=garment, state=OrderState.IN_PRODUCTION, operator=operator)
    page = ops_client.get(f"/ops/orders/{order.id}/")
    assert page.context["next_step"] == "Finishing"
    assert "Printing done → Finishing" in page.content.decode()
    act(ops_client, order, action="productionStatus", value="Finishing")
    assert ops_client.get(f"/ops/orders/{order.id}/").context["next_step"] == "Ready"
    act(ops_client, order, action="productionStatus", value="Ready")
    assert ops_client.get(f"/ops/orders/{order.id}/").context["next_step"] is None
    assert act(ops_client, order, action="productionStatus", value="Printing") == [
        f"{order.reference}: The order is already at Ready: production only moves on."
    ]
    events = FulfillmentEvent.objects.filter(order=order, kind="production_status")
    assert [e.status for e in events] == ["Finishing", "Ready"]


def test_an_illegal_move_changes_nothing(ops_client, garment, operator):
    order = make_order(garment=garment, state=OrderState.FULFILLED, operator=operator)
    before = FulfillmentEvent.objects.filter(order=order).count()
    assert act(ops_client, order, action="status", value="approved") == [
        f"{order.reference}: The order is fulfilled: it cannot change any more."
    ]
    assert FulfillmentEvent.objects.filter(order=order).count() == before


def test_internal_notes_stay_internal(ops_client, client, customer, garment, operator):
    order = make_order(owner=customer, garment=garment, state=OrderState.SUBMITTED)
    assert act(ops_client, order, action="note", body="  Ink is back-ordered  ") == [
        "Internal note added."
    ]
    note = OrderNote.objects.get(order=order)
    assert (note.body, note.author) == ("Ink is back-ordered", operator)
    assert "Ink is back-ordered" in ops_client.get(f"/ops/orders/{order.id}/").content.decode()
    client.force_login(customer)
    assert "Ink is back-ordered" not in client.get(f"/orders/{order.id}/").content.decode()
    assert not FulfillmentEvent.objects.filter(order=order, kind="message").exists()


def test_a_customer_message_reaches_the_customers_timeline(
    ops_client, client, customer, garment, operator
):
    order = make_order(owner=customer, garment=garment, state=OrderState.SUBMITTED)
    assert act(ops_client, order, action="message", body="Your proof is ready") == [
        "Message posted to the customer's timeline."
    ]
    event = FulfillmentEvent.objects.get(order=order, kind="message")
    assert (event.message, event.actor, event.source) == (
        "Your proof is ready",
        operator,
        "operator",
    )
    client.force_login(customer)
    assert "Your proof is ready" in client.get(f"/orders/{order.id}/").content.decode()


def test_the_ops_timeline_labels_a_message_as_one_not_as_a_status(ops_client, garment, operator):
    order = make_order(garment=garment, state=OrderState.SUBMITTED)
    add_customer_message(
        order=order, author=operator, body="Your hoodies look great", source=EventSource.OPERATOR
    )
    html = ops_client.get(f"/ops/orders/{order.id}/").content.decode()
    timeline = html[html.index('id="timeline"') :]
    entry = timeline[: timeline.index("Your hoodies look great")].rsplit("<li>", 1)[1]
    assert "Message to customer" in entry and operator.email in entry
    assert order.get_status_display() not in entry and "<strong>submitted" not in entry.lower()


def test_the_hold_marker_is_a_text_badge(ops_client, garment):
    order = make_order(garment=garment, state=OrderState.APPROVED)
    update_order(order=order, actor=None, source=EventSource.OPERATOR, priority=Priority.HOLD)
    for url in (f"/ops/orders/{order.id}/", "/ops/orders"):
        html = ops_client.get(url).content.decode()
        assert '<span class="badge hold">On hold</span>' in html
        assert "\u23f8" not in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "note", "body": "   "}, "Write the note first."),
        ({"action": "message", "body": ""}, "Write the message first."),
        ({"action": "status", "value": "shipped"}, "Choose a valid value."),
        ({"action": "delete"}, "That action is not available."),
    ],
)
def test_bad_actions_are_refused(ops_client, garment, data, message):
    order = make_order(garment=garment, state=OrderState.SUBMITTED)
    assert act(ops_client, order, **data) == [message]
    assert FulfillmentEvent.objects.filter(order=order).count() == 2
    assert not OrderNote.objects.exists()


def test_an_unknown_order_is_404(ops_client):
    missing = "00000000-0000-0000-0000-000000000000"
    assert ops_client.get(f"/ops/orders/{missing}/").status_code == 404
    assert ops_client.post(f"/ops/orders/{missing}/actions", {"action": "note"}).status_code == 404


def test_moves_that_cannot_be_undone_ask_first(ops_client, garment, operator):
    order = make_order(
        garment=garment, state=OrderState.IN_PRODUCTION, step="Ready", operator=operator
    )
    url = f"/ops/orders/{order.id}/actions"
    asked = ops_client.post(url, {"action": "status", "value": "fulfilled"})
    assert asked.status_code == 200
    assert "This cannot be undone" in asked.content.decode()
    assert ProductionOrder.objects.get(pk=order.pk).status == OrderState.IN_PRODUCTION

    ops_client.post(url, {"action": "status", "value": "fulfilled", "confirmed": "1"})
    assert ProductionOrder.objects.get(pk=order.pk).status == OrderState.FULFILLED


def test_canceling_an_order_in_production_needs_a_reason(ops_client, garment, operator):
    order = make_order(garment=garment, state=OrderState.IN_PRODUCTION, operator=operator)
    url = f"/ops/orders/{order.id}/actions"
    asked = ops_client.post(url, {"action": "status", "value": "canceled"}).content.decode()
    assert "Reason (required" in asked and "required>" in asked

    refused = ops_client.post(
        url, {"action": "status", "value": "canceled", "confirmed": "1"}, follow=True
    )
    assert "Say why: a reason is needed" in refused.content.decode()
    assert ProductionOrder.objects.get(pk=order.pk).status == OrderState.IN_PRODUCTION

    ops_client.post(
        url, {"action": "status", "value": "canceled", "confirmed": "1", "body": "Misprint"}
    )
    canceled = ProductionOrder.objects.get(pk=order.pk)
    assert canceled.status == OrderState.CANCELED
    assert canceled.events.last().message == "Misprint"


def test_the_way_forward_is_the_prominent_button(ops_client, garment, operator):
    order = make_order(garment=garment, state=OrderState.APPROVED, operator=operator)
    page = ops_client.get(f"/ops/orders/{order.id}/")
    assert page.context["forward"]["label"] == "Start production"
    html = page.content.decode()
    assert 'class="secondary danger">Cancel order…' in html
    assert ">Start production</button>" in html
