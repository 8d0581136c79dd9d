"""Customers see which role changed their order, never which person; operators see who."""

import json

import pytest
from django.test import Client
from django.utils import timezone

from production.lifecycle import EventSource, OrderState
from production.models import FulfillmentEvent
from production.realtime.frames import frames_for
from production.services.messages import add_customer_message
from production.services.orders import transition_order
from tests.factories import make_order

pytestmark = pytest.mark.django_db

ROLES = {"customer", "operator", "stripe", "system"}


def api_events(api, order):
    response = api.get(f"/api/production/{order.pk}")
    assert response.status_code == 200
    return response.json()["order"]["events"]


def test_the_order_json_names_roles_not_users(customer_api, customer, garment, operator):
    order = make_order(
        owner=customer, garment=garment, state=OrderState.APPROVED, operator=operator
    )
    add_customer_message(
        order=order.pk, author=operator, body="Proof looks great", source=EventSource.OPERATOR
    )

    events = api_events(customer_api, order)
    assert [e["metadata"]["actor"] for e in events] == [
        "customer",  # created the order
        "stripe",  # paid
        "operator",  # approved
        "operator",  # the message
    ]
    assert all(e["metadata"]["actor"] in ROLES for e in events)
    # Cached once and shared with operators: the operator's read is the same JSON.
    assert (
        customer_api.get(f"/api/production/{order.pk}").content.decode().count(operator.email) == 0
    )


def test_rows_written_with_a_user_id_are_shown_with_the_role(customer_api, customer, operator):
    order = make_order(owner=customer)
    FulfillmentEvent.objects.create(
        order=order,
        kind=FulfillmentEvent.Kind.MESSAGE,
        status="Spec Review",
        message="Written before roles",
        occurred_at=timezone.now(),
        actor=operator,
        source=EventSource.ADMIN,
        metadata={"source": "admin", "actor": operator.pk, "field": "message"},
    )
    events = api_events(customer_api, order)
    assert events[-1]["metadata"] == {"source": "admin", "actor": "operator", "field": "message"}


@pytest.mark.usefixtures("channel_layers")
def test_socket_frames_name_roles_not_users(
    customer, operator, django_capture_on_commit_callbacks, layer_sends
):
    order = make_order(owner=customer, state=OrderState.SUBMITTED, operator=operator)
    with django_capture_on_commit_callbacks(execute=True):
        transition_order(
            order=order, to=OrderState.APPROVED, actor=operator, source=EventSource.OPERATOR
        )
    # As the processes with sockets in these groups expand them.
    frames = [json.loads(f["text"]) for _, change in layer_sends for f in frames_for(change)]
    order_frame, event_frame, _ops_row = frames
    assert event_frame["type"] == "event.created"
    assert event_frame["event"]["metadata"]["actor"] == "operator"
    assert [e["metadata"]["actor"] for e in order_frame["order"]["events"]] == [
        "customer",
        "stripe",
        "operator",
    ]
    assert str(operator.pk) not in json.dumps(
        [e["metadata"] for e in order_frame["order"]["events"]]
    )


def test_operators_still_see_who_on_the_ops_timeline(customer, operator, garment):
    order = make_order(
        owner=customer, garment=garment, state=OrderState.APPROVED, operator=operator
    )
    ops = Client()
    ops.force_login(operator)
    page = ops.get(f"/ops/orders/{order.pk}/").content.decode()
    assert f"Operator: {operator.email}" in page

    mine = Client()
    mine.force_login(customer)
    assert operator.email not in mine.get(f"/orders/{order.pk}/").content.decode()
