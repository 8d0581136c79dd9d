"""One request id from the operator's click to the logs, the task, the timeline and the socket."""

import json
import logging
import re
import uuid

import pytest
from channels.db import database_sync_to_async
from rest_framework.test import APIClient

from production.lifecycle import OrderState, ProductionStatus
from production.models import FulfillmentEvent, OutgoingEmail
from production.notifications import deliver_email
from production.plumbing import request_context
from production.realtime.frames import frames_for
from tests.factories import make_order, operator_user, token_for
from tests.realtime_support import session_key_for, socket_to
from tests.task_queue import waiting_tasks

pytestmark = pytest.mark.django_db


def order_url(order) -> str:
    return f"/api/production/{order.pk}"


def ready_order(operator):
    return make_order(
        state=OrderState.IN_PRODUCTION, step=ProductionStatus.READY, operator=operator
    )


def test_every_response_carries_a_request_id_and_a_clients_own_is_not_trusted(client, settings):
    first = client.get("/healthz", headers={"X-Request-ID": "client-made-this-up"})
    second = client.get("/healthz")
    assert first["X-Request-ID"] != "client-made-this-up"
    assert len({first["X-Request-ID"], second["X-Request-ID"]}) == 2

    settings.REQUEST_ID_FROM_PROXY = True  # nginx sets (overwrites) it
    assert client.get("/healthz", headers={"X-Request-ID": "nginx-7f3a"})["X-Request-ID"] == (
        "nginx-7f3a"
    )
    # Not an id: a forged log line, or a header of a kilobyte.
    for bad in ("a\nFAKE LOG LINE", "x" * 1000, ""):
        answered = client.get("/healthz", headers={"X-Request-ID": bad})["X-Request-ID"]
        assert answered != bad and len(answered) == 32

    # Made here: 32 hex digits, none twice.
    settings.REQUEST_ID_FROM_PROXY = False
    made = [client.get("/healthz")["X-Request-ID"] for _ in range(50)]
    assert len(set(made)) == 50 and all(re.fullmatch("[0-9a-f]{32}", i) for i in made)


def test_a_made_request_id_differs_in_a_forked_process():
    import os

    first = request_context.new_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child, as a gunicorn worker forked from its master
        os.write(write, request_context.new_id()[:20].encode())
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 20).decode() != first[:20]  # its own random prefix


def test_a_patch_s_request_id_reaches_its_log_line_event_task_worker_and_frame(
    operator, monkeypatch, caplog, django_capture_on_commit_callbacks, layer_sends
):
    from django.core.management import call_command
    from django_tasks_db.management.commands import db_worker

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token_for(operator)}")
    order = ready_order(operator)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch(order_url(order), {"status": "fulfilled"}, format="json")
    assert response.status_code == 200, response.json()
    request_id = response["X-Request-ID"]

    # The timeline event keeps it for operators; the order's JSON (customers, API) does not.
    event = FulfillmentEvent.objects.filter(order=order).latest("occurred_at", "id")
    assert event.metadata["request_id"] == request_id
    assert request_id not in json.dumps(response.json())

    # The ops order page shows it beside the event.
    api_page = APIClient()
    api_page.force_login(operator)
    page = api_page.get(f"/ops/orders/{order.pk}/").content.decode()
    assert f"req {request_id}" in page

    # The mail task it queued carries it, and the worker logs the task under it.
    fulfilled = OutgoingEmail.objects.get(order=order, kind=OutgoingEmail.Kind.ORDER_FULFILLED)
    (task,) = [t for t in waiting_tasks(deliver_email) if t.args_kwargs["args"] == [fulfilled.pk]]
    assert task.args_kwargs["request_id"] == request_id
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    with caplog.at_level(logging.INFO, logger="django_tasks"):
        call_command(
            "db_worker", batch=True, reload=False, startup_delay=False, interval=0, verbosity=1
        )
    (finished,) = [
        r
        for r in caplog.records
        if f"id={task.pk} " in r.getMessage() and "SUCCESSFUL" in r.getMessage()
    ]
    assert finished.request_id == request_id
    assert request_context.current() is None  # the worker forgot it after the task

    # The operators' live frame of the change carries it; the customer's frames do not.
    ops_message = next(m for group, m in layer_sends if group == "ops.orders")
    (ops_frame,) = frames_for(ops_message)
    assert json.loads(ops_frame["text"])["requestId"] == request_id
    order_message = next(m for group, m in layer_sends if group == f"order.{order.pk}")
    assert all(request_id not in frame["text"] for frame in frames_for(order_message))


def test_a_line_logged_while_answering_carries_the_request_s_id(client, caplog):
    from tests.payments.stripe_events import deliver, example_event

    with caplog.at_level(logging.INFO, logger="payments"):
        response = deliver(client, example_event())  # a type the shop ignores: logged at INFO
    assert response.status_code == 200
    (line,) = [r for r in caplog.records if "ignored" in r.getMessage()]
    assert line.request_id == response["X-Request-ID"]


def test_log_lines_are_json_with_the_request_id_in_production():
    from django.conf import settings
    from pythonjsonlogger.json import JsonFormatter

    spec = settings.LOGGING["formatters"]["json"]
    formatter = JsonFormatter(spec["format"], rename_fields=spec["rename_fields"])
    with request_context.bound("abc123"):
        record = logging.getLogger("production.x").makeRecord(
            "production.x", logging.WARNING, __file__, 1, "Order %s held", ("ORD-1",), None
        )
    line = json.loads(formatter.format(record))
    assert line["request_id"] == "abc123"
    assert (line["level"], line["logger"], line["message"]) == (
        "WARNING",
        "production.x",
        "Order ORD-1 held",
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("channel_layers")
async def test_the_operators_socket_receives_the_patch_s_request_id():
    operator = await database_sync_to_async(operator_user)(email=f"{uuid.uuid4().hex}@example.com")
    order = await database_sync_to_async(ready_order)(operator)
    session = await database_sync_to_async(session_key_for)(operator)
    communicator = socket_to("/ws/ops/orders/", session_key=session)
    connected, _ = await communicator.connect()
    assert connected

    @database_sync_to_async
    def patch():
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Token {token_for(operator)}")
        return api.patch(order_url(order), {"status": "fulfilled"}, format="json")

    response = await patch()
    assert response.status_code == 200
    frame = json.loads(await communicator.receive_from(timeout=5))
    assert frame["type"] == "order.updated"
    assert frame["order"]["id"] == str(order.pk)
    assert frame["requestId"] == response["X-Request-ID"]
    await communicator.disconnect()
    from django.db import connections

    await database_sync_to_async(connections.close_all)()
