"""The order page's note and message forms carry a one-time token: the same form posted again
(an operator resubmitting after an error) adds nothing twice, and a note or message stored while
the database connection was cut answers as added, not as an error."""

import re

import pytest
from django.contrib.messages import get_messages
from django.db import connection

from production.lifecycle import OrderState
from production.models import FulfillmentEvent, OrderNote, OutgoingEmail
from production.services import messages as message_services
from tests.factories import make_order
from tests.production.test_postgres_backend import cut_commits, terminate_this_connection

pytestmark = pytest.mark.django_db

ADDED = {"note": "Internal note added.", "message": "Message posted to the customer's timeline."}


def form_token(client, order, action: str) -> str:
    """The token of the order page's form for `action`, as the operator's browser posts it."""
    page = client.get(f"/ops/orders/{order.id}/").content.decode()
    found = re.search(
        rf'name="action" value="{action}"><input type="hidden" name="token" value="([^"]+)"', page
    )
    assert found, f"the {action} form has no token"
    return found.group(1)


def post(client, order, **data) -> list[str]:
    response = client.post(f"/ops/orders/{order.id}/actions", data)
    assert response.status_code == 302
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    client.get(response["Location"])  # where the operator lands: the messages are shown once
    return messages


def stored(order, action: str) -> list[str]:
    if action == "note":
        return list(OrderNote.objects.filter(order=order).values_list("body", flat=True))
    events = FulfillmentEvent.objects.filter(order=order, kind="message")
    return list(events.values_list("message", flat=True))


@pytest.mark.parametrize("action", ["note", "message"])
def test_the_same_form_posted_again_adds_once(ops_client, customer, action):
    order = make_order(owner=customer, state=OrderState.SUBMITTED)
    token = form_token(ops_client, order, action)

    first = post(ops_client, order, action=action, body="Ink is late", token=token)
    again = post(ops_client, order, action=action, body="Ink is late", token=token)

    assert first == again == [ADDED[action]]
    assert stored(order, action) == ["Ink is late"]
    mails = OutgoingEmail.objects.filter(order=order, kind="customer_message").count()
    assert mails == (1 if action == "message" else 0)


@pytest.mark.parametrize("action", ["note", "message"])
def test_a_form_used_again_for_another_text_or_order_is_refused(ops_client, customer, action):
    order = make_order(owner=customer, state=OrderState.SUBMITTED)
    other = make_order(owner=customer, state=OrderState.SUBMITTED)
    token = form_token(ops_client, order, action)
    post(ops_client, order, action=action, body="Ink is late", token=token)

    changed = post(ops_client, order, action=action, body="Ink is here", token=token)
    elsewhere = post(ops_client, other, action=action, body="Ink is late", token=token)

    assert changed == [
        f"This {action} form was sent already: nothing was added now. "
        f"Reload the order's page to write another {action}."
    ]
    assert elsewhere == [
        f"This {action} form was sent already on another order: nothing was added now. "
        f"Reload the order's page to write another {action}."
    ]
    assert stored(order, action) == ["Ink is late"]
    assert stored(other, action) == []


def test_each_page_gives_new_tokens(ops_client, customer):
    order = make_order(owner=customer, state=OrderState.SUBMITTED)
    note, message = form_token(ops_client, order, "note"), form_token(ops_client, order, "message")
    assert note != message
    assert note != form_token(ops_client, order, "note")


def test_a_form_without_a_token_still_adds(ops_client, customer):
    order = make_order(owner=customer, state=OrderState.SUBMITTED)
    assert post(ops_client, order, action="note", body="Old page") == [ADDED["note"]]
    assert post(ops_client, order, action="note", body="Old page") == [ADDED["note"]]
    assert stored(order, "note") == ["Old page", "Old page"]


# --- a cut connection, on PostgreSQL --------------------------------------------------------------


def on_postgres(test):
    """Run on PostgreSQL only, outside a test transaction (as a request runs)."""
    for mark in [
        pytest.mark.postgres,
        pytest.mark.django_db(transaction=True),
        pytest.mark.skipif(connection.vendor != "postgresql", reason="cuts its connection"),
    ]:
        test = mark(test)
    return test


@on_postgres
@pytest.mark.parametrize("action", ["note", "message"])
def test_a_connection_cut_after_the_write_still_answers_added(
    monkeypatch, ops_client, customer, action
):
    order = make_order(owner=customer, state=OrderState.SUBMITTED)
    token = form_token(ops_client, order, action)
    name = "add_order_note" if action == "note" else "add_customer_message"
    real = getattr(message_services, name)

    def then_cut(**kwargs):
        written = real(**kwargs)
        terminate_this_connection()  # committed; the session is saved on a cut connection
        return written

    monkeypatch.setattr(f"ops.views.orders.{name}", then_cut)

    assert post(ops_client, order, action=action, body="Ink is late", token=token) == [
        ADDED[action]
    ]
    assert stored(order, action) == ["Ink is late"]


@on_postgres
def test_a_note_whose_commit_answer_was_lost_is_added_once(monkeypatch, ops_client, customer):
    order = make_order(owner=customer, state=OrderState.SUBMITTED)
    token = form_token(ops_client, order, "note")
    cuts = cut_commits(monkeypatch, commit_first=True)

    assert post(ops_client, order, action="note", body="Ink is late", token=token) == [
        ADDED["note"]
    ]
    assert len(cuts) == 1  # the note's own transaction, checked with the server
    assert stored(order, "note") == ["Ink is late"]
