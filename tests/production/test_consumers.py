"""Live sockets: who may listen, what they hear, and what they never hear."""

import asyncio
import json
from types import SimpleNamespace

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection, connections
from django.test import Client
from rest_framework.test import APIClient

from production import broadcasts
from production.accounts.access import operators_group
from production.lifecycle import EventSource, OrderState, Priority
from production.models import ProductionOrder
from production.realtime import consumers
from production.services.messages import add_customer_message
from production.services.orders import transition_order, update_order
from tests.factories import UserFactory, make_order, operator_user, token_for
from tests.realtime_support import close_code, layer_settings, session_key_for, socket_to

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("channel_layers")]


@pytest.fixture(autouse=True)
async def _close_worker_thread_connections():
    # The ORM calls above run in asgiref's worker thread; its connection must not outlive the
    # test, or the test database cannot be dropped at the end of the run.
    yield
    await sync_to_async(connections.close_all)()


@database_sync_to_async
def make(**kwargs) -> ProductionOrder:
    order = make_order(**kwargs)
    return ProductionOrder.objects.select_related("owner").get(pk=order.pk)


session_for = database_sync_to_async(session_key_for)
new_user = database_sync_to_async(UserFactory)
new_operator = database_sync_to_async(operator_user)


async def frames(communicator, count: int) -> list[dict]:
    return [json.loads(await communicator.receive_from(timeout=5)) for _ in range(count)]


async def opened(path: str, user) -> object:
    communicator = socket_to(path, session_key=await session_for(user))
    connected, _ = await communicator.connect()
    assert connected
    return communicator


@database_sync_to_async
def start_production(order, operator):
    return transition_order(
        order=order, to=OrderState.IN_PRODUCTION, actor=operator, source=EventSource.OPERATOR
    )


@database_sync_to_async
def api_order_json(order, user) -> dict:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client.get(f"/api/production/{order.pk}").json()["order"]


class TestWhoMayConnect:
    async def test_anonymous_socket_is_closed_with_4401(self):
        order = await make()
        assert await close_code(socket_to(f"/ws/orders/{order.pk}/")) == 4401

    async def test_another_customers_socket_is_closed_with_4403(self):
        order = await make()
        stranger = await new_user()
        path = f"/ws/orders/{order.pk}/"
        assert await close_code(socket_to(path, session_key=await session_for(stranger))) == 4403

    async def test_unknown_or_malformed_order_is_closed_with_4404(self):
        user = await new_user()
        key = await session_for(user)
        unknown = "/ws/orders/00000000-0000-4000-8000-000000000000/"
        assert await close_code(socket_to(unknown, session_key=key)) == 4404
        assert await close_code(socket_to("/ws/orders/not-a-uuid/", session_key=key)) == 4404

    async def test_owner_and_operator_are_let_in(self):
        order = await make()
        for user in (order.owner, await new_operator()):
            communicator = await opened(f"/ws/orders/{order.pk}/", user)
            assert await communicator.receive_nothing()
            await communicator.disconnect()

    async def test_socket_from_a_foreign_origin_is_refused(self):
        order = await make()
        communicator = socket_to(
            f"/ws/orders/{order.pk}/",
            session_key=await session_for(order.owner),
            origin=b"https://evil.example.com",
        )
        connected, _ = await communicator.connect()
        assert not connected

    async def test_ops_socket_is_for_operators_only(self):
        customer = await new_user()
        assert await close_code(socket_to("/ws/ops/orders/")) == 4401
        customer_key = await session_for(customer)
        assert await close_code(socket_to("/ws/ops/orders/", session_key=customer_key)) == 4403
        communicator = await opened("/ws/ops/orders/", await new_operator())
        assert await communicator.receive_nothing()
        await communicator.disconnect()


class TestWhatTheyHear:
    async def test_a_service_update_reaches_the_owner_and_an_operator(self):
        operator = await new_operator()
        order = await make(state=OrderState.APPROVED, operator=operator)
        owner_socket = await opened(f"/ws/orders/{order.pk}/", order.owner)
        operator_socket = await opened(f"/ws/orders/{order.pk}/", operator)

        await start_production(order, operator)

        for communicator in (owner_socket, operator_socket):
            updated, created = await frames(communicator, 2)
            assert updated["type"] == "order.updated"
            assert updated["order"]["orderStatus"] == "in_production"
            assert updated["order"]["status"] == "Printing"
            assert created["type"] == "event.created"
            assert created["event"]["message"] == "Production started"
            assert await communicator.receive_nothing()
            await communicator.disconnect()

    async def test_the_pushed_order_is_the_json_of_the_api(self):
        operator = await new_operator()
        order = await make(state=OrderState.APPROVED, operator=operator)
        communicator = await opened(f"/ws/orders/{order.pk}/", order.owner)
        await start_production(order, operator)
        updated, created = await frames(communicator, 2)
        api_json = await api_order_json(order, order.owner)
        assert updated["order"] == api_json
        assert created["event"] == api_json["events"][-1]
        await communicator.disconnect()

    async def test_each_new_event_is_pushed_once(self):
        operator = await new_operator()
        order = await make(state=OrderState.APPROVED, operator=operator, priority=Priority.HOLD)
        communicator = await opened(f"/ws/orders/{order.pk}/", order.owner)
        # Releasing the hold and starting production: one request, two events.
        await database_sync_to_async(update_order)(
            order=order,
            actor=operator,
            source=EventSource.OPERATOR,
            priority=Priority.RUSH,
            status=OrderState.IN_PRODUCTION,
        )
        updated, *created = await frames(communicator, 3)
        assert updated["order"]["priority"] == "Rush"
        assert [frame["type"] for frame in created] == ["event.created", "event.created"]
        assert [frame["event"]["message"] for frame in created] == [
            "Hold released, priority Rush",
            "Production started",
        ]
        assert await communicator.receive_nothing()
        await communicator.disconnect()

    async def test_nothing_reaches_another_customer(self):
        operator = await new_operator()
        order = await make(state=OrderState.APPROVED, operator=operator)
        theirs = await make(state=OrderState.APPROVED, operator=operator)
        stranger_socket = await opened(f"/ws/orders/{theirs.pk}/", theirs.owner)
        await start_production(order, operator)
        assert await stranger_socket.receive_nothing(timeout=0.5)
        await stranger_socket.disconnect()

    async def test_operators_dashboard_gets_one_row_per_changed_order(self):
        operator = await new_operator()
        order = await make(state=OrderState.APPROVED, operator=operator)
        ops_socket = await opened("/ws/ops/orders/", operator)
        await start_production(order, operator)
        [row] = await frames(ops_socket, 1)
        assert row["type"] == "order.updated"
        assert row["order"]["id"] == str(order.pk)
        assert row["order"]["orderStatus"] == "in_production"
        assert "events" not in row["order"]
        assert await ops_socket.receive_nothing()
        await ops_socket.disconnect()

    async def test_a_customer_message_is_pushed_to_the_timeline(self):
        operator = await new_operator()
        order = await make(state=OrderState.APPROVED, operator=operator)
        communicator = await opened(f"/ws/orders/{order.pk}/", order.owner)
        await database_sync_to_async(add_customer_message)(
            order=order,
            author=operator,
            body="Your proof looks great.",
            source=EventSource.OPERATOR,
        )
        _, created = await frames(communicator, 2)
        assert created["event"]["message"] == "Your proof looks great."
        await communicator.disconnect()

    async def test_a_rolled_back_change_sends_nothing(self, monkeypatch):
        operator = await new_operator()
        order = await make(state=OrderState.APPROVED, operator=operator)
        communicator = await opened(f"/ws/orders/{order.pk}/", order.owner)
        announce = broadcasts.order_changed

        def announce_then_fail(*args, **kwargs):
            announce(*args, **kwargs)  # registered for after commit...
            raise RuntimeError("disk full")  # ...and the transaction rolls back

        monkeypatch.setattr(broadcasts, "order_changed", announce_then_fail)
        with pytest.raises(RuntimeError):
            await start_production(order, operator)

        assert await communicator.receive_nothing(timeout=0.5)
        refreshed = await ProductionOrder.objects.aget(pk=order.pk)
        assert refreshed.status == OrderState.APPROVED
        await communicator.disconnect()

    async def test_clients_cannot_send_anything_that_matters(self):
        order = await make()
        communicator = await opened(f"/ws/orders/{order.pk}/", order.owner)
        await communicator.send_to(text_data='{"type": "order.updated", "order": {}}')
        assert await communicator.receive_nothing()
        await communicator.disconnect()


class TestLogout:
    async def test_logging_out_closes_that_sessions_sockets_only(self):
        order = await make()
        key = await session_for(order.owner)
        this_session = socket_to(f"/ws/orders/{order.pk}/", session_key=key)
        assert (await this_session.connect())[0]
        other_device = await opened(f"/ws/orders/{order.pk}/", order.owner)

        @database_sync_to_async
        def log_out():
            client = Client()
            client.cookies["sessionid"] = key
            assert client.post("/accounts/logout/").status_code == 302

        await log_out()
        closed = await this_session.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4401}
        assert await other_device.receive_nothing()
        await other_device.disconnect()


class TestAccessChanges:
    """A socket's access is decided again whenever its user changes; those that lost it close."""

    async def test_an_operator_removed_from_operators_loses_the_dashboard_stream(self):
        operator = await new_operator()
        ops_socket = await opened("/ws/ops/orders/", operator)

        @database_sync_to_async
        def demote():
            operator.groups.remove(operators_group())

        await demote()
        assert await ops_socket.receive_output(timeout=5) == {
            "type": "websocket.close",
            "code": 4403,
        }

    async def test_a_demoted_operator_loses_other_customers_orders_but_not_their_own(self):
        operator = await new_operator()
        theirs = await make()
        own = await make(owner=operator)
        on_theirs = await opened(f"/ws/orders/{theirs.pk}/", operator)
        on_own = await opened(f"/ws/orders/{own.pk}/", operator)

        @database_sync_to_async
        def empty_the_group():
            operators_group().user_set.clear()

        await empty_the_group()
        closed = await on_theirs.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4403}
        assert await on_own.receive_nothing(timeout=0.5)
        await on_own.disconnect()

    async def test_taking_the_permission_from_the_operators_group_closes_the_stream(self):
        operator = await new_operator()
        ops_socket = await opened("/ws/ops/orders/", operator)

        @database_sync_to_async
        def revoke():
            group = operators_group()
            permission = group.permissions.get()
            permission.group_set.remove(group)  # from the permission's side

        await revoke()
        closed = await ops_socket.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4403}

    async def test_deleting_the_operators_group_closes_its_members_streams(self):
        operator = await new_operator()
        ops_socket = await opened("/ws/ops/orders/", operator)

        @database_sync_to_async
        def delete_the_group():
            operators_group().delete()

        await delete_the_group()
        closed = await ops_socket.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4403}

    async def test_a_deactivated_customer_is_disconnected(self):
        order = await make()
        communicator = await opened(f"/ws/orders/{order.pk}/", order.owner)

        @database_sync_to_async
        def deactivate():
            order.owner.is_active = False
            order.owner.save()

        await deactivate()
        closed = await communicator.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4401}

    async def test_a_new_password_ends_the_sockets_of_old_sessions(self):
        order = await make()
        communicator = await opened(f"/ws/orders/{order.pk}/", order.owner)

        @database_sync_to_async
        def change_password():
            order.owner.set_password("a-brand-new-password-42")
            order.owner.save()

        await change_password()
        closed = await communicator.receive_output(timeout=5)
        assert closed == {"type": "websocket.close", "code": 4401}

    async def test_changing_ones_own_password_keeps_this_sessions_socket_and_login(self):
        order = await make()
        key = await session_for(order.owner)
        communicator = socket_to(f"/ws/orders/{order.pk}/", session_key=key)
        assert (await communicator.connect())[0]

        @database_sync_to_async
        def change_own_password():
            # What Django's password change view does: new password, this session's hash renewed.
            from importlib import import_module

            from django.conf import settings
            from django.contrib.auth import HASH_SESSION_KEY

            order.owner.set_password("a-brand-new-password-42")
            order.owner.save()
            session = import_module(settings.SESSION_ENGINE).SessionStore(key)
            session[HASH_SESSION_KEY] = order.owner.get_session_auth_hash()
            session.save()

        @database_sync_to_async
        def still_logged_in() -> bool:
            client = Client()
            client.cookies["sessionid"] = key
            return client.get("/orders/").status_code == 200

        await change_own_password()
        assert await communicator.receive_nothing(timeout=0.5)
        assert await still_logged_in()
        await communicator.disconnect()

    async def test_an_unrelated_change_keeps_the_socket_and_its_stream(self):
        operator = await new_operator()
        order = await make(state=OrderState.APPROVED, operator=operator)
        communicator = await opened(f"/ws/orders/{order.pk}/", order.owner)

        @database_sync_to_async
        def rename():
            order.owner.first_name = "Renamed"
            order.owner.save()

        await rename()
        await log_in_elsewhere(order.owner)
        assert await communicator.receive_nothing(timeout=0.5)
        await start_production(order, operator)
        updated, _ = await frames(communicator, 2)
        assert updated["order"]["orderStatus"] == "in_production"
        await communicator.disconnect()


class TestSocketsPerUser:
    """One user holds at most WS_MAX_SOCKETS_PER_USER sockets (per process); the next gets 4429."""

    async def test_the_socket_over_the_cap_is_closed_with_4429_and_other_users_are_unaffected(
        self, settings
    ):
        settings.WS_MAX_SOCKETS_PER_USER = 3
        order = await make()
        key = await session_for(order.owner)
        path = f"/ws/orders/{order.pk}/"
        held = [await opened(path, order.owner) for _ in range(3)]
        assert await close_code(socket_to(path, session_key=key)) == 4429
        assert await close_code(socket_to("/ws/ops/orders/", session_key=key)) == 4429
        operator = await new_operator()
        on_the_same_order = await opened(path, operator)
        assert await on_the_same_order.receive_nothing(timeout=0.2)
        for communicator in (*held, on_the_same_order):
            await communicator.disconnect()

    async def test_every_way_a_socket_ends_gives_its_place_back(self, settings):
        settings.WS_MAX_SOCKETS_PER_USER = 1
        operator = await new_operator()
        own = await make(owner=operator)
        theirs = await make()
        own_path, their_path = f"/ws/orders/{own.pk}/", f"/ws/orders/{theirs.pk}/"
        key = await session_for(operator)

        async def place_is_free() -> bool:
            communicator = socket_to(own_path, session_key=key)
            assert (await communicator.connect())[0]
            if await communicator.receive_nothing(timeout=0.2):
                await communicator.disconnect()  # closed by the client
                return True
            assert await communicator.receive_output() == {"type": "websocket.close", "code": 4429}
            return False

        # Closed by the client (place_is_free's own socket, each time).
        assert await place_is_free()
        assert await place_is_free()

        # Cancelled by the server (daphne shutting down cancels the application).
        held = await opened(own_path, operator)
        assert not await place_is_free()
        held.future.cancel()
        with pytest.raises(asyncio.CancelledError):
            await held.future
        assert await place_is_free()

        # Refused by the server (not hers to see: an operator demoted meanwhile).
        @database_sync_to_async
        def demote():
            operator.groups.remove(operators_group())

        ops_socket = await opened("/ws/ops/orders/", operator)
        await demote()  # ...closed by the access re-check
        assert await ops_socket.receive_output(timeout=5) == {
            "type": "websocket.close",
            "code": 4403,
        }
        assert await place_is_free()
        assert await close_code(socket_to(their_path, session_key=key)) == 4403  # refused
        assert await close_code(socket_to(their_path, session_key=key)) == 4403
        assert await place_is_free()
        assert operator.pk not in consumers.open_sockets()  # nothing counted is left


class TestManySockets:
    """Socket hygiene at scale. The sockets are owner's sockets past the auth middleware."""

    async def test_thousands_of_simultaneous_disconnects_leave_every_group_empty(
        self, monkeypatch, settings, channel_layers
    ):
        from channels.layers import get_channel_layer

        count = 2500
        settings.WS_MAX_SOCKETS_PER_USER = count
        # On Redis: a pool far smaller than the burst. Sockets cost Redis nothing to open or
        # close (the hub's joins and leaves do), so none may need a connection of its own.
        settings.CHANNEL_LAYERS = layer_settings(channel_layers, max_connections=200)
        order = await make()
        # Who may listen is tested above; here 2,500 permission queries would only cost time.
        monkeypatch.setattr(consumers.OrderConsumer, "refusal", allow_everyone)
        session_key = await session_for(order.owner)
        sockets = [owner_socket(order, session_key=session_key) for _ in range(count)]
        for start in range(0, len(sockets), 250):
            results = await asyncio.gather(*(s.connect(timeout=30) for s in sockets[start:][:250]))
            assert all(connected for connected, _ in results)
        layer = get_channel_layer()
        groups = {
            "order": broadcasts.order_group(order.pk),
            "session": broadcasts.session_group(session_key),
            "user": broadcasts.user_group(order.owner.pk),
        }
        # Each group's messages come once to the process and fan out there: the order's, the
        # session's (for logout) and the user's (access re-checks). No socket has a channel.
        assert {name: await group_size(layer, g) for name, g in groups.items()} == {
            "order": 1,
            "session": 1,
            "user": 1,
        }

        # 2,500 sockets leaving 7,500 memberships on one event loop, all at once.
        await asyncio.gather(*(s.disconnect(timeout=60) for s in sockets))

        assert {name: await group_size(layer, g) for name, g in groups.items()} == {
            "order": 0,
            "session": 0,
            "user": 0,
        }
        assert order.owner.pk not in consumers.open_sockets()

    @pytest.mark.postgres
    @pytest.mark.skipif(connection.vendor != "postgresql", reason="counts PostgreSQL backends")
    async def test_500_connect_disconnect_cycles_leave_no_database_connection_behind(self):
        order = await make()
        before = await backend_count()
        for _ in range(500):
            communicator = owner_socket(order)
            assert (await communicator.connect(timeout=10))[0]
            await communicator.disconnect(timeout=10)
        assert await backend_count() == before


@database_sync_to_async
def log_in_elsewhere(user) -> None:
    Client().force_login(user)  # saves last_login


def owner_socket(order: ProductionOrder, session_key: str | None = None) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(
        consumers.OrderConsumer.as_asgi(), f"/ws/orders/{order.pk}/"
    )
    communicator.scope["user"] = order.owner
    if session_key:
        communicator.scope["session"] = SimpleNamespace(session_key=session_key)
    communicator.scope["url_route"] = {"args": (), "kwargs": {"order_id": str(order.pk)}}
    return communicator


async def allow_everyone(consumer, user):
    return None


@database_sync_to_async
def backend_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


async def group_size(layer, group: str) -> int:
    if hasattr(layer, "groups"):  # in-memory layer
        return len(layer.groups.get(group, {}))
    return await layer.group_size(group)
