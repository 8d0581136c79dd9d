import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext

from production.lifecycle import OrderState, Priority, ProductionStatus
from production.models import FulfillmentEvent, ProductionOrder
from tests.factories import make_order

pytestmark = pytest.mark.django_db


def shown_messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def events_of(order) -> int:
    return FulfillmentEvent.objects.filter(order=order).count()


def state_of(order) -> str:
    return ProductionOrder.objects.get(pk=order.pk).status


def test_mixed_legal_and_illegal_moves_report_each_order(ops_client, garment, operator):
    submitted = [make_order(garment=garment, state=OrderState.SUBMITTED) for _ in range(2)]
    fulfilled = make_order(garment=garment, state=OrderState.FULFILLED, operator=operator)
    draft = make_order(garment=garment)
    already = make_order(garment=garment, state=OrderState.APPROVED, operator=operator)
    chosen = [*submitted, fulfilled, draft, already]
    before = {o.pk: events_of(o) for o in chosen}

    response = ops_client.post(
        "/ops/orders/bulk",
        {
            "change": "status:approved",
            "scope": "selected",
            "ids": [o.id for o in chosen],
            "filters": "priority=standard&page=3",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/ops/orders?priority=standard"
    assert [state_of(o) for o in chosen] == [
        "approved",
        "approved",
        "fulfilled",
        "draft",
        "approved",
    ]
    # History: exactly one new event per changed order, none for the others.
    assert [events_of(o) - before[o.pk] for o in chosen] == [1, 1, 0, 0, 0]
    page = ops_client.get(response["Location"])
    html = page.content.decode()
    assert "Updated 2 orders: order state → Approved." in html
    assert f"1 order already had that value: {already.reference}" in html
    assert "Skipped 2 orders:" in html
    assert f"{fulfilled.reference}: The order is fulfilled: it cannot change any more." in html
    assert f"{draft.reference}: The order is not paid yet: payment comes first." in html


def test_reloading_the_result_does_not_apply_it_again(ops_client, garment):
    order = make_order(garment=garment, state=OrderState.SUBMITTED)
    response = ops_client.post(
        "/ops/orders/bulk", {"change": "status:approved", "scope": "selected", "ids": [order.id]}
    )
    first = ops_client.get(response["Location"]).content.decode()
    assert "Updated 1 order: order state → Approved." in first
    again = ops_client.get(response["Location"]).content.decode()
    assert "Updated 1 order" not in again
    assert events_of(order) == 3  # created, paid, approved


def test_priority_and_production_status_in_bulk(ops_client, garment, operator):
    printing = make_order(garment=garment, state=OrderState.IN_PRODUCTION, operator=operator)
    queued = make_order(garment=garment, state=OrderState.APPROVED, operator=operator)
    response = ops_client.post(
        "/ops/orders/bulk",
        {
            "change": "productionStatus:Finishing",
            "scope": "selected",
            "ids": [printing.id, queued.id],
        },
    )
    messages = shown_messages(response)
    assert messages[0] == "Updated 1 order: production status → Finishing."
    assert messages[2] == f"{queued.reference}: Start production first: the order is Approved."
    assert ProductionOrder.objects.get(pk=printing.pk).production_status == "Finishing"
    ops_client.get(response["Location"])  # the result is shown once

    response = ops_client.post(
        "/ops/orders/bulk",
        {"change": "priority:hold", "scope": "selected", "ids": [printing.id, queued.id]},
    )
    assert shown_messages(response) == ["Updated 2 orders: priority → Hold."]
    assert {o.priority for o in ProductionOrder.objects.all()} == {Priority.HOLD}


def test_held_orders_are_skipped_when_production_starts(ops_client, garment, operator):
    held = make_order(
        garment=garment, state=OrderState.APPROVED, priority=Priority.HOLD, operator=operator
    )
    response = ops_client.post(
        "/ops/orders/bulk",
        {"change": "status:in_production", "scope": "selected", "ids": [held.id]},
    )
    assert shown_messages(response) == [
        "Skipped 1 order:",
        f"{held.reference}: Release the hold first: the order is on hold.",
    ]


def test_all_matching_names_the_count_and_asks_first(ops_client, garment):
    rush = [
        make_order(garment=garment, state=OrderState.SUBMITTED, priority=Priority.RUSH)
        for _ in range(3)
    ]
    standard = make_order(garment=garment, state=OrderState.SUBMITTED)
    form = {
        "change": "status:approved",
        "scope": "all",
        "filters": "priority=rush&status=submitted",
    }

    confirm = ops_client.post("/ops/orders/bulk", form)
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "Apply to 3 orders?" in html
    assert "on <strong>all 3 orders</strong>" in html
    assert "status = submitted; priority = rush" in html
    assert {state_of(o) for o in [*rush, standard]} == {"submitted"}  # nothing yet

    done = ops_client.post("/ops/orders/bulk", {**form, "confirmed": "on", "expected": "3"})
    assert done["Location"] == "/ops/orders?status=submitted&priority=rush"
    assert shown_messages(done) == ["Updated 3 orders: order state → Approved."]
    assert [state_of(o) for o in rush] == ["approved"] * 3
    assert state_of(standard) == "submitted"


def test_all_matching_asks_again_when_the_count_changed(ops_client, garment):
    order = make_order(garment=garment, state=OrderState.SUBMITTED, priority=Priority.RUSH)
    form = {
        "change": "status:approved",
        "scope": "all",
        "filters": "priority=rush",
        "confirmed": "on",
        "expected": "2",
    }
    response = ops_client.post("/ops/orders/bulk", form)
    assert response.status_code == 200
    assert "changed from 2 to 1" in response.content.decode()
    assert state_of(order) == "submitted"


def test_all_matching_is_refused_over_the_limit(ops_client, garment, settings):
    settings.OPS_BULK_LIMIT = 2
    orders = [make_order(garment=garment, state=OrderState.SUBMITTED) for _ in range(3)]
    response = ops_client.post(
        "/ops/orders/bulk",
        {"change": "status:approved", "scope": "all", "confirmed": "on", "expected": "3"},
    )
    assert shown_messages(response) == [
        "More than 2 orders match: bulk changes are limited to 2 at a time. "
        "Narrow the filter first."
    ]
    assert {state_of(o) for o in orders} == {"submitted"}


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"change": "status:approved", "scope": "selected"}, "Select at least one order."),
        ({"change": "status:submitted", "scope": "selected"}, None),
        ({"change": "status:draft", "scope": "selected"}, None),
        ({"change": "owner:1", "scope": "selected"}, None),
        ({"change": "status:approved", "scope": "selected", "ids": ["nope"]}, None),
        ({"change": "status:approved", "scope": "everything"}, None),
    ],
)
def test_bad_bulk_requests_change_nothing(ops_client, garment, form, message):
    order = make_order(garment=garment, state=OrderState.SUBMITTED)
    if "ids" not in form and form["scope"] != "everything" and message is None:
        form = {**form, "ids": [order.id]}
    response = ops_client.post("/ops/orders/bulk", form)
    assert response.status_code == 302
    messages = shown_messages(response)
    assert len(messages) == 1
    if message:
        assert messages == [message]
    assert state_of(order) == "submitted"
    assert events_of(order) == 2


def test_unknown_ids_are_ignored(ops_client, garment):
    order = make_order(garment=garment, state=OrderState.SUBMITTED)
    response = ops_client.post(
        "/ops/orders/bulk",
        {
            "change": "status:approved",
            "scope": "selected",
            "ids": [order.id, "00000000-0000-0000-0000-000000000000"],
        },
    )
    assert shown_messages(response) == ["Updated 1 order: order state → Approved."]


def _bulk_queries(client, change: str, orders) -> int:
    with CaptureQueriesContext(connection) as queries:
        client.post(
            "/ops/orders/bulk",
            {"change": change, "scope": "selected", "ids": [o.id for o in orders]},
        )
    assert {state_of(o) for o in orders} == {change.removeprefix("status:")}
    return len(queries)


@pytest.mark.django_db(transaction=True)  # each order's commit runs its broadcast, as deployed
@pytest.mark.parametrize(
    ("change", "state", "per_order"),
    [
        # BEGIN, lock, UPDATE, event, COMMIT; the live pages' processes read the order JSON
        # themselves (`frames.frames_for`), not this request.
        ("status:approved", OrderState.SUBMITTED, 5),
        # ... and the customer's mail and its task (the customer and garment are read once).
        ("status:fulfilled", OrderState.IN_PRODUCTION, 7),
    ],
)
def test_a_bulk_change_costs_a_fixed_number_of_queries_per_order(
    ops_client, garment, operator, change, state, per_order
):
    def orders(n: int) -> list:
        step = ProductionStatus.READY if state == OrderState.IN_PRODUCTION else None
        return [
            make_order(garment=garment, state=state, step=step, operator=operator) for _ in range(n)
        ]

    few, many = (
        _bulk_queries(ops_client, change, orders(2)),
        _bulk_queries(ops_client, change, orders(7)),
    )
    assert (many - few) / 5 == per_order


@pytest.mark.django_db(transaction=True)  # each order commits and is announced, as deployed
@pytest.mark.usefixtures("channel_layers")
def test_a_bulk_change_is_announced_in_one_send_with_every_order_in_order(
    ops_client, garment, operator, monkeypatch
):
    from channels.layers import get_channel_layer

    from production import broadcasts

    orders = [make_order(garment=garment, state=OrderState.SUBMITTED) for _ in range(3)]
    sent: list[tuple[str, str]] = []
    hops: list[object] = []

    async def record(group, message):
        sent.append((group, message["type"]))

    def counting(messages, what):  # one send: one event-loop hop, or one hand-over
        hops.append(what)

    monkeypatch.setattr(get_channel_layer(), "group_send", record)
    monkeypatch.setattr(broadcasts, "hand_over_observers", [counting])
    ops_client.post(
        "/ops/orders/bulk",
        {"change": "status:approved", "scope": "selected", "ids": [str(o.pk) for o in orders]},
    )

    assert broadcasts.wait_until_sent()  # Redis: the process's sender thread sends it
    assert hops == ["Broadcast of a bulk change"]
    by_reference = sorted(orders, key=lambda o: o.reference)
    expected = []
    for order in by_reference:
        expected += [(f"order.{order.pk}", "order.changed"), ("ops.orders", "order.changed")]
    assert sent == expected
