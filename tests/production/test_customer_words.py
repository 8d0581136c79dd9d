"""The customer's words for an order come with its JSON (`statusText`, `etaText`, `holdText`, in
the API and so in every socket frame), the same words the server-rendered order page shows, so the
live page's script only shows them. They are additive: the spec's fields stay as they are."""

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from production.lifecycle import Delivery, EventSource, OrderState, Priority, ProductionStatus
from production.realtime.frames import frames_for
from production.selectors import get_order_json
from production.services.orders import update_order
from production.services.proofs import decide_proof
from tests.factories import make_order, make_proof

pytestmark = pytest.mark.django_db

HOLD = "On hold: the shop paused this order and will be in touch."


def ready_by(days: int) -> str:
    """ "Ready by Tue 15 Dec", `days` from today."""
    due = timezone.localdate() + dt.timedelta(days=days)
    return f"Ready by {due:%a} {due.day} {due:%b}"


SPEC_FIELDS = {
    "id",
    "reference",
    "status",
    "orderStatus",
    "createdAt",
    "updatedAt",
    "prompt",
    "priority",
    "etaDays",
    "imageUrl",
    "garment",
    "lineItems",
    "events",
}


def words(order) -> tuple[str, str, str]:
    body = get_order_json(order_id=order.pk)
    return body["statusText"], body["etaText"], body["holdText"]


def held(order):
    update_order(order=order, actor=None, source=EventSource.OPERATOR, priority=Priority.HOLD)
    return order


def canceled(order):
    update_order(order=order, actor=None, source=EventSource.OPERATOR, status=OrderState.CANCELED)
    return order


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: make_order(), ("Waiting for payment", "About 7 days after payment", "")),
        (
            lambda: make_order(priority=Priority.RUSH),
            ("Waiting for payment", "About 3 days after payment", ""),
        ),
        (
            lambda: make_order(state=OrderState.SUBMITTED),
            ("Paid — the shop is checking your artwork", ready_by(7), ""),
        ),
        (
            lambda: make_proof(make_order(state=OrderState.SUBMITTED)).order,
            ("Your proof is ready to approve", ready_by(7), ""),
        ),
        (
            lambda: changes_requested(make_order(state=OrderState.SUBMITTED)),
            ("Changes requested — the shop is preparing a new proof", ready_by(7), ""),
        ),
        (
            lambda: held(make_order(state=OrderState.APPROVED)),
            (
                "Artwork approved — waiting to be printed",
                "A new date once the shop resumes the order",
                HOLD,
            ),
        ),
        (
            lambda: make_order(state=OrderState.IN_PRODUCTION, step=ProductionStatus.FINISHING),
            ("Finishing", ready_by(7), ""),
        ),
        (
            # Ready: the estimate has come true and goes.
            lambda: make_order(state=OrderState.IN_PRODUCTION, step=ProductionStatus.READY),
            ("Ready to ship", "", ""),
        ),
        (
            lambda: make_order(state=OrderState.FULFILLED),
            ("Shipped — every item has left the shop", "", ""),
        ),
        (lambda: canceled(held(make_order(state=OrderState.APPROVED))), ("Canceled", "", "")),
    ],
)
def test_the_order_json_carries_the_customers_words(make, expected):
    assert words(make()) == expected


def changes_requested(order):
    proof = make_proof(order)
    decide_proof(
        order=order,
        revision=proof.revision,
        decision="request_changes",
        comment="Bigger logo",
        actor=order.owner,
    )
    return order


def steps(order) -> list[tuple[str, str]]:
    """The progress bar as (words, state), from the order's JSON."""
    body = get_order_json(order_id=order.pk)
    return [(step["label"], step["state"]) for step in body["progress"]]


def test_the_progress_bar_has_a_proof_step_and_ends_shipped():
    order = make_proof(make_order(state=OrderState.SUBMITTED)).order
    assert steps(order) == [
        ("Paid", "done"),
        ("Artwork check", "current"),
        ("Printing", "todo"),
        ("Finishing", "todo"),
        ("Ready to ship", "todo"),
        ("Shipped", "todo"),
    ]
    shipped = make_order(state=OrderState.FULFILLED)
    assert [state for _, state in steps(shipped)] == ["done"] * 5 + ["current"]
    assert steps(shipped)[-1] == ("Shipped", "current")  # never "Ready to ship"


def test_an_order_for_pickup_ends_picked_up(settings):
    settings.PICKUP_ADDRESS = "12 Print Lane"
    order = make_order(state=OrderState.FULFILLED, delivery=Delivery.PICKUP)
    assert steps(order)[-2:] == [("Ready for pickup", "done"), ("Picked up", "current")]
    assert words(order)[0] == "Picked up at the shop"


def test_a_canceled_order_says_what_happened_to_the_money():
    unpaid = canceled(make_order())
    body = get_order_json(order_id=unpaid.pk)
    assert body["canceledText"] == (
        "This order was canceled: it will not be printed or shipped. You were not charged."
    )
    assert all(step["state"] != "current" for step in body["progress"])
    paid = canceled(make_order(state=OrderState.APPROVED))
    assert "No refund has been made yet" in get_order_json(order_id=paid.pk)["canceledText"]
    assert get_order_json(order_id=make_order().pk)["canceledText"] == ""


def test_the_words_are_added_to_the_specs_fields(customer):
    body = get_order_json(order_id=make_order(owner=customer).pk)
    assert SPEC_FIELDS | {"statusText", "etaText", "holdText"} <= set(body)
    assert body["priority"] == "Standard" and body["orderStatus"] == "draft"


def test_the_order_page_shows_the_same_words_as_its_json(customer):
    order = held(make_order(owner=customer, state=OrderState.SUBMITTED))
    client = Client()
    client.force_login(customer)
    page = client.get(f"/orders/{order.pk}/").text
    status, eta, hold = words(order)
    assert f'data-field="stage">{status}</strong>' in page
    assert eta and f">{eta}<" in page
    assert f'id="hold-banner">{hold}</p>' in page


def test_a_late_order_says_so(monkeypatch):
    order = make_order(state=OrderState.SUBMITTED, priority=Priority.RUSH)  # due in 3 days
    due = timezone.localdate() + dt.timedelta(days=3)
    later = timezone.now() + dt.timedelta(days=4)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert words(order)[1] == f"Running late: it was due {due:%a} {due.day} {due:%b}"


def test_the_cached_json_counts_down_with_the_date(monkeypatch):
    order = make_order(state=OrderState.SUBMITTED)
    assert words(order)[1] == ready_by(7)
    assert words(order)[1] == ready_by(7)  # from the cache now
    tomorrow = timezone.now() + dt.timedelta(days=1)
    monkeypatch.setattr(timezone, "now", lambda: tomorrow)
    body = get_order_json(order_id=order.pk)  # the order did not change: only the date did
    assert body["etaDays"] == 6


@pytest.mark.usefixtures("channel_layers")
def test_every_socket_frame_carries_the_words(
    operator, django_capture_on_commit_callbacks, layer_sends
):
    order = make_order(state=OrderState.APPROVED, operator=operator)
    with django_capture_on_commit_callbacks(execute=True):
        held(order)
    to_page, to_operators = (frames_for(message) for _, message in layer_sends)
    frame = json.loads(to_page[0]["text"])
    assert frame["type"] == "order.updated"
    assert (frame["order"]["statusText"], frame["order"]["holdText"]) == (
        "Artwork approved — waiting to be printed",
        HOLD,
    )
    assert json.loads(to_operators[0]["text"])["order"]["etaText"] == (
        "A new date once the shop resumes the order"
    )


def test_every_operator_status_has_a_next_step():
    from production.lifecycle import OPERATOR_NEXT, OPERATOR_WORDS

    assert set(OPERATOR_WORDS) <= set(OPERATOR_NEXT)
