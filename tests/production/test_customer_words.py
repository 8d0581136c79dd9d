"""The customer's words for an order come with its JSON (`statusText`, `etaText`, `holdText`, in
the API and so in every socket frame), the same words the server-rendered order page shows, so the
live page's script only shows them. They are additive: the spec's fields stay as they are."""

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from production.lifecycle import EventSource, OrderState, Priority, ProductionStatus
from production.realtime.frames import frames_for
from production.selectors import get_order_json
from production.services.orders import update_order
from tests.factories import make_order, make_proof

pytestmark = pytest.mark.django_db

HOLD = "On hold: the shop paused this order and will be in touch."
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
        (lambda: make_order(), ("Waiting for payment", "7 days after payment", "")),
        (
            lambda: make_order(priority=Priority.RUSH),
            ("Waiting for payment", "3 days after payment", ""),
        ),
        (
            lambda: make_order(state=OrderState.SUBMITTED),
            ("Paid — queued for production", "7 days", ""),
        ),
        (
            lambda: make_proof(make_order(state=OrderState.SUBMITTED)).order,
            ("Your proof is ready to approve", "7 days", ""),
        ),
        (
            lambda: held(make_order(state=OrderState.APPROVED)),
            (
                "Approved — queued for production",
                "A new date once the shop resumes the order",
                HOLD,
            ),
        ),
        (
            lambda: make_order(state=OrderState.IN_PRODUCTION, step=ProductionStatus.FINISHING),
            ("Finishing", "7 days", ""),
        ),
        (
            lambda: make_order(state=OrderState.FULFILLED),
            ("Fulfilled — ready to ship", "Ready to ship", ""),
        ),
        (lambda: canceled(held(make_order(state=OrderState.APPROVED))), ("Canceled", "—", "")),
    ],
)
def test_the_order_json_carries_the_customers_words(make, expected):
    assert words(make()) == expected


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
    assert f">{eta}<" in page
    assert f'id="hold-banner">{hold}</p>' in page


def test_a_one_day_countdown_is_singular(monkeypatch):
    order = make_order(state=OrderState.SUBMITTED, priority=Priority.RUSH)  # due in 3 days
    later = timezone.now() + dt.timedelta(days=2)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert words(order)[1] == "1 day"


def test_the_cached_json_counts_down_with_the_date(monkeypatch):
    order = make_order(state=OrderState.SUBMITTED)
    assert words(order)[1] == "7 days"
    assert words(order)[1] == "7 days"  # from the cache now
    tomorrow = timezone.now() + dt.timedelta(days=1)
    monkeypatch.setattr(timezone, "now", lambda: tomorrow)
    body = get_order_json(order_id=order.pk)  # the order did not change: only the date did
    assert (body["etaDays"], body["etaText"]) == (6, "6 days")


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
        "Approved — queued for production",
        HOLD,
    )
    assert json.loads(to_operators[0]["text"])["order"]["etaText"] == (
        "A new date once the shop resumes the order"
    )
