"""Broadcasts leave after commit; a broken channel layer never undoes a change."""

import uuid

import pytest
from channels.layers import get_channel_layer

from production import broadcasts
from production.lifecycle import EventSource, OrderState
from production.models import ProductionOrder
from production.realtime.channel_layer import PooledRedisChannelLayer
from production.realtime.frames import frames_for
from production.services.orders import transition_order
from production.services.shipping import record_shipment
from tests.factories import make_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("channel_layers")]


def test_a_change_is_announced_only_when_its_transaction_commits(
    operator, django_capture_on_commit_callbacks, monkeypatch
):
    order = make_order(state=OrderState.APPROVED, operator=operator)
    sent = []

    async def record(group, message):
        sent.append((group, message["type"]))

    monkeypatch.setattr(get_channel_layer(), "group_send", record)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        transition_order(
            order=order, to=OrderState.IN_PRODUCTION, actor=operator, source=EventSource.OPERATOR
        )
    assert sent == []
    for callback in callbacks:
        callback()
    # A few bytes each: the processes holding the sockets read the order (`frames_for`).
    assert sent == [(f"order.{order.pk}", "order.changed"), ("ops.orders", "order.changed")]


def test_each_process_turns_a_change_into_the_order_its_event_and_the_operators_row(
    operator, django_capture_on_commit_callbacks, layer_sends
):
    import json

    order = make_order(state=OrderState.APPROVED, operator=operator)
    with django_capture_on_commit_callbacks(execute=True):
        transition_order(
            order=order, to=OrderState.IN_PRODUCTION, actor=operator, source=EventSource.OPERATOR
        )
    sent = [message for _, message in layer_sends]
    to_page, to_operators = (frames_for(message) for message in sent)
    page = [json.loads(frame["text"]) for frame in to_page]
    assert [frame["type"] for frame in page] == ["order.updated", "event.created"]
    assert page[0]["order"]["orderStatus"] == "in_production"
    assert page[1]["event"]["status"] == page[0]["order"]["events"][-1]["status"]
    assert {frame["group"] for frame in to_page} == {f"order.{order.pk}"}
    (row,) = [json.loads(frame["text"]) for frame in to_operators]
    assert row["type"] == "order.updated" and "events" not in row["order"]
    assert row["order"]["orderStatus"] == "in_production"
    # An order gone meanwhile (deleted by support) becomes no frame rather than an error.
    assert frames_for({**sent[0], "order": str(uuid.uuid4())}) == []


def test_a_broken_channel_layer_is_logged_and_the_change_stands(
    operator, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    order = make_order(state=OrderState.APPROVED, operator=operator)

    async def down(group, message):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(get_channel_layer(), "group_send", down)
    with django_capture_on_commit_callbacks(execute=True):
        transition_order(
            order=order, to=OrderState.IN_PRODUCTION, actor=operator, source=EventSource.OPERATOR
        )
    assert ProductionOrder.objects.get(pk=order.pk).status == OrderState.IN_PRODUCTION
    assert "Broadcast of order" in caplog.text and "committed" in caplog.text


def test_redis_pool_is_sized_and_never_times_out_a_blocking_read():
    layer = PooledRedisChannelLayer(
        hosts=[{"address": "redis://127.0.0.1:6379/0", "max_connections": 2000}]
    )
    pool = layer.create_pool(0)
    assert pool.max_connections == 2000
    # redis-py 8's 5 s default read timeout would kill the idle 5 s BZPOPMIN receive loop.
    assert pool.connection_kwargs["socket_timeout"] is None
    assert pool.connection_kwargs["socket_keepalive"] is True


def test_an_access_recheck_that_cannot_be_sent_is_logged_and_the_save_stands(
    customer, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def no_loop_here(func):
        raise RuntimeError("You cannot use AsyncToSync in the same thread as an async event loop")

    monkeypatch.setattr(broadcasts, "async_to_sync", no_loop_here)
    with django_capture_on_commit_callbacks(execute=True):
        customer.first_name = "Renamed"
        customer.save()
    customer.refresh_from_db()
    assert customer.first_name == "Renamed"
    assert "Access re-check failed" in caplog.text


def test_the_last_shipment_announces_the_order_with_its_shipment_and_two_events(
    operator, django_capture_on_commit_callbacks, monkeypatch
):
    import json

    from production.lifecycle import ProductionStatus

    order = make_order(
        state=OrderState.IN_PRODUCTION, step=ProductionStatus.READY, operator=operator
    )
    sent = []

    async def record(group, message):
        sent.append((group, message))

    monkeypatch.setattr(get_channel_layer(), "group_send", record)
    with django_capture_on_commit_callbacks(execute=True):
        record_shipment(
            order=order.pk, carrier="ups", tracking_number="1Z999AA10123456784", actor=operator
        )
    frames = [
        json.loads(frame["text"])
        for group, message in sent
        if group == f"order.{order.pk}"
        for frame in frames_for(message)
    ]
    assert [frame["type"] for frame in frames] == [
        "order.updated",
        "event.created",
        "event.created",
    ]
    updated = frames[0]["order"]
    assert updated["orderStatus"] == "fulfilled"
    assert updated["shipments"][0]["trackingUrl"].endswith("1Z999AA10123456784")
    assert [frame["event"]["status"] for frame in frames[1:]] == ["Shipped", "Ready"]


@pytest.mark.django_db(transaction=True)  # the PATCH commits and is announced, as deployed
def test_a_patch_is_announced_once_its_answer_has_cached_the_new_order(
    operator, operator_api, monkeypatch
):
    """The live pages' processes are told of a PATCH after its answer was read, so each finds
    the order's new JSON in the cache instead of reading the order again."""
    from production import order_reads

    order = make_order(state=OrderState.APPROVED, operator=operator)
    found_cached: list[tuple[str, str | None]] = []

    class NotCached(Exception):
        pass

    def refuse(order_id):
        raise NotCached

    def checking(messages, what):  # the hand-over, in the request's thread
        for group, message in messages:
            try:
                entry = order_reads.read_order(uuid.UUID(message["order"]), load=refuse)
                found_cached.append((group, entry.payload["status"]))
            except NotCached:
                found_cached.append((group, None))

    monkeypatch.setattr(broadcasts, "hand_over_observers", [checking])
    response = operator_api.patch(
        f"/api/production/{order.pk}", {"status": "in_production"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["order"]["status"] == "Printing"
    assert found_cached == [(f"order.{order.pk}", "Printing"), ("ops.orders", "Printing")]
    assert broadcasts.wait_until_sent()
