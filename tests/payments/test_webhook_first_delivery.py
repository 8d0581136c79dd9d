"""What a first (paying) webhook delivery costs the request: one locked read of the order, and
no wait for the channel layer — while the live page still hears of the payment, in order."""

import asyncio
import json
import threading

import pytest
from channels.layers import BaseChannelLayer
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from payments.services import start_checkout
from production import broadcasts
from production.lifecycle import OrderState
from production.models import ProductionOrder
from production.realtime.frames import frames_for
from tests.factories import make_order
from tests.payments.stripe_events import checkout_session, deliver, stripe_event


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "http://shop.test"


@pytest.fixture
def order(customer, garment):
    draft = make_order(owner=customer, garment=garment)
    start_checkout(order=draft)
    return ProductionOrder.objects.get(pk=draft.pk)


def pay(order, event_id="evt_first"):
    event = stripe_event("checkout.session.completed", checkout_session(order), event_id)
    return deliver(Client(), event)


@pytest.mark.django_db
def test_a_first_delivery_locks_and_reads_the_order_row_once(
    order, django_capture_on_commit_callbacks
):
    # execute=False: the after-commit broadcast (and its read of the order JSON) aside.
    with (
        django_capture_on_commit_callbacks(execute=False),
        CaptureQueriesContext(connection) as queries,
    ):
        response = pay(order)
    assert response.json()["outcome"] == "submitted"
    order_reads = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT")
        and '"production_productionorder"' in q["sql"].split("FROM")[1][:40]
    ]
    assert len(order_reads) == 1
    if connection.features.has_select_for_update:  # SQLite has no row locks
        assert "FOR UPDATE" in order_reads[0]
    # The duplicate check, the locked read, the order's UPDATE, its event, the receipt's task
    # (the worker writes the mail), the payment (a check that its intent is new, and its row)
    # and the event log row (SAVEPOINT/RELEASE aside: the test wraps everything in a transaction).
    writes_and_reads = [q for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(writes_and_reads) == 8


class HeldLayer(BaseChannelLayer):
    """A shared (non in-memory) layer whose sends wait until the test lets them go."""

    extensions = ["groups"]
    released = threading.Event()
    sent: list[tuple[str, str]] = []
    messages: list[tuple[str, dict]] = []

    async def group_send(self, group, message):
        while not self.released.is_set():  # not asyncio.Event: set from the test's thread
            await asyncio.sleep(0.005)
        self.sent.append((group, message["type"]))
        self.messages.append((group, message))

    async def group_add(self, group, channel):
        pass

    async def group_discard(self, group, channel):
        pass


@pytest.fixture
def held_layer(settings):
    HeldLayer.released = threading.Event()
    HeldLayer.sent = []
    HeldLayer.messages = []
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": f"{__name__}.HeldLayer"}}
    yield HeldLayer
    HeldLayer.released.set()
    broadcasts.wait_until_sent()


@pytest.mark.django_db(transaction=True)  # commits as deployed, so the after-commit send runs
def test_the_webhook_answers_before_the_live_page_message_leaves_and_it_still_arrives(
    order, held_layer
):
    response = pay(order)  # returns although the layer has not taken the message yet

    assert response.json()["outcome"] == "submitted"
    assert ProductionOrder.objects.get(pk=order.pk).status == OrderState.SUBMITTED
    assert held_layer.sent == []

    held_layer.released.set()
    assert broadcasts.wait_until_sent()
    group = f"order.{order.pk}"
    assert held_layer.sent == [(group, "order.changed"), ("ops.orders", "order.changed")]


@pytest.mark.django_db(transaction=True)
def test_changes_sent_in_the_background_keep_their_order(order, held_layer, operator):
    from production.lifecycle import EventSource
    from production.services.orders import transition_order

    pay(order)
    transition_order(
        order=order.pk, to=OrderState.APPROVED, actor=operator, source=EventSource.OPERATOR
    )
    held_layer.released.set()
    assert broadcasts.wait_until_sent()
    mine = [kind for group, kind in held_layer.sent if group == f"order.{order.pk}"]
    assert mine == ["order.changed"] * 2
    assert [kind for group, kind in held_layer.sent if group == "ops.orders"] == [
        "order.changed"
    ] * 2
    # Each with its own events, in the order they happened.
    events = [
        message["events"]
        for _, message in held_layer.messages
        if message["type"] == "order.changed" and message["events"]
    ]
    assert len(events) == 2 and events[0] < events[1]


@pytest.mark.django_db(transaction=True)
def test_a_failing_background_send_is_logged_and_the_next_change_still_leaves(
    order, held_layer, operator, monkeypatch, caplog
):
    from production.lifecycle import EventSource
    from production.services.orders import transition_order

    calls = []
    original = HeldLayer.group_send

    async def fail_first(self, group, message):
        if group.startswith("user."):  # the operator's access re-check, not our subject
            return await original(self, group, message)
        calls.append(group)
        if len(calls) == 1:
            raise ConnectionError("redis is down")
        await original(self, group, message)

    monkeypatch.setattr(HeldLayer, "group_send", fail_first)
    held_layer.released.set()
    pay(order)
    assert broadcasts.wait_until_sent()
    transition_order(
        order=order.pk, to=OrderState.APPROVED, actor=operator, source=EventSource.OPERATOR
    )
    assert broadcasts.wait_until_sent()
    assert ProductionOrder.objects.get(pk=order.pk).status == OrderState.APPROVED
    assert "failed; the change itself is committed" in caplog.text
    # All but the one send that failed: the rest of the payment's, then the approval's.
    assert [g for g, _ in held_layer.sent if not g.startswith("user.")] == calls[1:]
    assert len(calls) == 4  # the order's group and the operators', per change


@pytest.mark.django_db
def test_after_its_commit_a_first_delivery_reads_nothing_and_the_sockets_process_does(
    order, django_capture_on_commit_callbacks, monkeypatch
):
    """After the commit the webhook's process only replaces the order's cache version and sends
    a few bytes; the process holding the live page's socket reads the order and builds the
    frames (`production.realtime.fanout`), and its read warms the cache for the page's refetch."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from tests.production.test_read_path import CacheCalls

    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(broadcasts.order_group(order.pk), channel)
    calls = CacheCalls(monkeypatch)
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks(execute=True),  # the hooks run as this block ends
    ):
        response = pay(order)

    assert response.json()["outcome"] == "submitted"
    mine = [(name, key) for name, key in calls.calls if str(order.pk) in str(key)]
    # The version (with the orders' version, one round trip) in the transaction and after it.
    assert [name for name, _ in mine] == ["set_many", "set_many"]
    # The delivery's 8 (see above), and nothing after the commit.
    assert len([q for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]) == 8
    change = async_to_sync(layer.receive)(channel)
    assert change["type"] == "order.changed" and change["order"] == str(order.pk)
    assert len(change["events"]) == 1

    calls.calls.clear()
    built = [json.loads(frame["text"]) for frame in frames_for(change)]
    assert [frame["type"] for frame in built] == ["order.updated", "event.created"]
    assert built[0]["order"]["orderStatus"] == "submitted"
    assert built[1]["event"]["id"] == str(change["events"][0])
