"""The cached read of GET /api/production/<id> (production/order_reads.py): what it asks of the
shared cache and the database, and that no change made through the services is served stale."""

import threading
import uuid

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django_redis.cache import RedisCache

from production import order_reads
from production.lifecycle import EventSource, OrderState
from production.models import Garment, Variant
from production.selectors import CATALOGUE_TTL, get_order_json
from production.services.orders import transition_order
from tests.concurrency import run_at_once
from tests.factories import make_order

pytestmark = pytest.mark.django_db


def order_url(order) -> str:
    return f"/api/production/{order.pk}"


class CacheCalls:
    """Records the calls the code under test makes on the shared cache's public API."""

    NAMES = ("get", "get_many", "set", "set_many", "add", "delete", "delete_many")

    def __init__(self, monkeypatch) -> None:
        self.calls: list[tuple[str, object]] = []
        self.depth = 0
        for name in self.NAMES:
            original = getattr(cache, name)

            def counted(key, *args, _name=name, _original=original, **kwargs):
                if not self.depth:  # the local-memory cache's get_many calls its get
                    self.calls.append((_name, key))
                self.depth += 1
                try:
                    return _original(key, *args, **kwargs)
                finally:
                    self.depth -= 1

            monkeypatch.setattr(cache, name, counted)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


def test_a_warm_read_asks_the_cache_once_and_the_database_never(
    customer_api, customer, monkeypatch, django_assert_num_queries
):
    order = make_order(owner=customer)
    first = customer_api.get(order_url(order))
    calls = CacheCalls(monkeypatch)

    with django_assert_num_queries(0):
        again = customer_api.get(order_url(order))

    # The token's user and the order's version in one MGET; the JSON is this process's copy.
    assert calls.names == ["get_many"]
    assert again.content == first.content


def test_a_read_right_after_a_change_sees_the_change(customer_api, operator_api, customer):
    order = make_order(owner=customer, state="submitted")
    customer_api.get(order_url(order))
    patched = operator_api.patch(order_url(order), {"status": "approved"}, format="json")
    assert patched.status_code == 200
    assert patched.json()["order"]["orderStatus"] == "approved"
    assert customer_api.get(order_url(order)).json()["order"]["orderStatus"] == "approved"


def test_a_change_reads_the_order_once_for_its_answer_whatever_the_cache_holds(
    operator_api, customer
):
    """A PATCH only checks that the order exists before changing it: the JSON it answers with is
    read after the change, and nothing is read (or cached) for the version it replaces."""

    def patch_queries(order, body: dict) -> list[str]:
        operator_api.get("/api/production")  # the token's user, as on every request
        with CaptureQueriesContext(connection) as queries:
            response = operator_api.patch(order_url(order), body, format="json")
        assert response.status_code == 200
        return [q["sql"] for q in queries.captured_queries]

    # One garment: its colours and placements are cached alike for both (`garment_catalogue`).
    cold = make_order(owner=customer, state="approved")
    warm = make_order(owner=customer, garment=cold.garment, state="approved")
    operator_api.get(order_url(warm))  # its JSON is cached
    cache.delete_many([f"order-json-version:{cold.pk}"])
    read_cold = patch_queries(cold, {"status": "in_production"})
    read_warm = patch_queries(warm, {"status": "in_production"})
    assert len(read_cold) == len(read_warm)
    change = next(i for i, sql in enumerate(read_cold) if sql.startswith("UPDATE"))
    assert not any("production_lineitem" in sql for sql in read_cold[:change])
    assert sum("production_lineitem" in sql for sql in read_cold) == 1  # the answer's read
    missing = operator_api.patch(
        f"/api/production/{uuid.uuid4()}", {"status": "approved"}, format="json"
    )
    assert missing.status_code == 404


def test_a_session_read_is_cached_too(client, customer, monkeypatch, django_assert_num_queries):
    order = make_order(owner=customer)
    client.force_login(customer)
    first = client.get(order_url(order))
    calls = CacheCalls(monkeypatch)
    with django_assert_num_queries(0):
        again = client.get(order_url(order))
    # The session, the user with their access (decision 0072), then the order's version; the
    # JSON is this process's copy.
    assert calls.names == ["get", "get_many", "get"]
    assert again.content == first.content


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs two connections at once")
@pytest.mark.django_db(transaction=True)
def test_a_read_racing_the_commit_is_not_served_after_it(customer, monkeypatch):
    """Another request reads between the writer's invalidation and its commit: it sees the new
    version but the old row, and stores the old JSON under that version."""
    order = make_order(owner=customer, state=OrderState.SUBMITTED)
    assert get_order_json(order_id=order.pk)["orderStatus"] == "submitted"
    seen_by_the_racing_read: list[str] = []
    invalidate = order_reads.invalidate

    def invalidate_then_read_on_another_connection(order_id: uuid.UUID) -> None:
        invalidate(order_id)
        read, errors = run_at_once([lambda: get_order_json(order_id=order_id)["orderStatus"]])
        assert not errors
        seen_by_the_racing_read.extend(read)

    monkeypatch.setattr(order_reads, "invalidate", invalidate_then_read_on_another_connection)
    transition_order(
        order=order.pk, to=OrderState.APPROVED, actor=None, source=EventSource.OPERATOR
    )

    assert seen_by_the_racing_read == ["submitted"]  # the race happened
    assert get_order_json(order_id=order.pk)["orderStatus"] == "approved"


@pytest.mark.django_db(transaction=True)  # the PATCH commits, and its after-commit hooks run
def test_a_read_racing_the_commit_is_not_served_after_it_on_any_database(
    customer, customer_api, operator_api, monkeypatch
):
    """The race above without a second connection at once, so on SQLite too (its test database
    cannot read beside an open write; a SQLite file in WAL mode, as `make run` serves, can). The
    racing request reads the version set inside the writer's transaction, then the row as any
    other connection sees it before the commit: the old one, given here as what it loads."""
    order = make_order(owner=customer, state=OrderState.SUBMITTED)
    assert customer_api.get(order_url(order)).json()["order"]["orderStatus"] == "submitted"
    row_before_the_commit = (customer.pk, get_order_json(order_id=order.pk))
    seen_by_the_racing_read: list[str] = []
    invalidate = order_reads.invalidate

    def racing_read() -> None:
        entry = order_reads.read_order(order.pk, load=lambda _id: row_before_the_commit)
        seen_by_the_racing_read.append(entry.payload["orderStatus"])

    def invalidate_then_race(order_id: uuid.UUID) -> None:
        invalidate(order_id)
        if order_id == order.pk and not seen_by_the_racing_read:
            other_request = threading.Thread(target=racing_read)
            other_request.start()
            other_request.join(timeout=10)

    monkeypatch.setattr(order_reads, "invalidate", invalidate_then_race)
    patched = operator_api.patch(order_url(order), {"status": "approved"}, format="json")

    assert seen_by_the_racing_read == ["submitted"]  # the race happened, and stored the old JSON
    assert patched.status_code == 200
    assert patched.json()["order"]["orderStatus"] == "approved"
    assert customer_api.get(order_url(order)).json()["order"]["orderStatus"] == "approved"
    assert get_order_json(order_id=order.pk)["orderStatus"] == "approved"


@pytest.mark.django_db(transaction=True)
def test_a_read_between_the_commit_and_its_hooks_sees_the_change(customer, monkeypatch):
    """Other requests may read as soon as the row is committed, before the writer's after-commit
    hooks have run."""
    order = make_order(owner=customer, state=OrderState.SUBMITTED)
    assert get_order_json(order_id=order.pk)["orderStatus"] == "submitted"
    seen_right_after_the_commit: list[str] = []
    invalidate = order_reads.invalidate

    def read_on_commit_then_invalidate(order_id: uuid.UUID) -> None:
        # Registered first, so it runs first after the commit.
        transaction.on_commit(
            lambda: seen_right_after_the_commit.append(
                get_order_json(order_id=order_id)["orderStatus"]
            )
        )
        invalidate(order_id)

    monkeypatch.setattr(order_reads, "invalidate", read_on_commit_then_invalidate)
    transition_order(
        order=order.pk, to=OrderState.APPROVED, actor=None, source=EventSource.OPERATOR
    )
    assert seen_right_after_the_commit == ["approved"]


def test_this_process_keeps_a_bounded_number_of_orders(monkeypatch, customer, customer_api):
    monkeypatch.setattr(order_reads, "LOCAL_ENTRIES", 3)
    orders = [make_order(owner=customer) for _ in range(5)]
    for order in orders:
        customer_api.get(order_url(order))
    calls = CacheCalls(monkeypatch)

    customer_api.get(order_url(orders[-1]))
    assert calls.names == ["get_many"]  # still this process's copy
    customer_api.get(order_url(orders[0]))
    assert calls.names == ["get_many", "get_many", "get"]  # dropped here: the shared copy


def test_a_change_outside_the_services_shows_within_the_ttl(monkeypatch, customer, customer_api):
    """The shared copy is stored for TTL seconds (the cache forgets it then) and this process's
    copy is dropped once it is as old: the clock is moved forward, never waited for."""
    now = [1_700_000_000.0]
    monkeypatch.setattr(order_reads, "clock", lambda: now[0])
    stored: dict[str, object] = {}
    real_set = cache.set

    def recording_set(key, value, timeout=None, *args, **kwargs):
        stored[key] = timeout
        return real_set(key, value, timeout, *args, **kwargs)

    monkeypatch.setattr(cache, "set", recording_set)
    order = make_order(owner=customer)

    def garment_name() -> str:
        return customer_api.get(order_url(order)).json()["order"]["garment"]["name"]

    before = garment_name()
    Garment.objects.filter(pk=order.garment_id).update(name="Renamed in bulk")
    assert (
        garment_name() == before
    )  # cached: neither this process's copy nor the shared one expired

    shared = [key for key in stored if key.startswith(f"order-json:{order.pk}:")]
    assert shared and {stored[key] for key in shared} == {order_reads.TTL}
    cache.delete_many(shared)  # what the shared cache does once those TTL seconds are over
    now[0] += order_reads.TTL - 1
    assert garment_name() == before  # this process's copy lives as long as the shared one did
    now[0] += 1
    assert garment_name() == "Renamed in bulk"


def test_reading_unknown_orders_leaves_nothing_in_the_cache(customer_api, monkeypatch):
    assert customer_api.get("/api/production").status_code == 200  # the token's user is cached
    calls = CacheCalls(monkeypatch)
    for _ in range(3):
        assert customer_api.get(f"/api/production/{uuid.uuid4()}").status_code == 404
    written = {key for name, key in calls.calls if name in ("set", "add")}
    deleted = {key for name, key in calls.calls if name == "delete"}
    assert len(written) == 3  # each probe's version...
    assert written <= deleted  # ...is taken back


def test_a_cached_token_user_is_the_user_without_the_password(customer_api, customer):
    order = make_order(owner=customer)
    customer_api.get(order_url(order))
    customer.first_name = "Ada"
    customer.save()  # forgets the cached user
    customer_api.get(order_url(order))  # caches it again

    user = order_reads.token_user(RequestFactory().get("/"), customer.auth_token.key)

    assert (user.pk, user.email, user.first_name, user.is_active) == (
        customer.pk,
        customer.email,
        "Ada",
        True,
    )
    assert user.get_deferred_fields() == {"password"}  # the hash never enters Redis


def test_cache_objects_of_every_thread_share_one_connection_pool():
    # Django makes a cache object per thread (and per request under ASGI); each must not open a
    # pool and a connection of its own. No connection is opened here: no command is sent.
    def pool_of_a_new_cache() -> object:
        return RedisCache("redis://127.0.0.1:6379/15", {}).client.get_client().connection_pool

    # The first one makes the pool (django-redis does not lock that first creation).
    pools: list[object] = [pool_of_a_new_cache()]
    threads = [threading.Thread(target=lambda: pools.append(pool_of_a_new_cache()))]
    threads += [threading.Thread(target=lambda: pools.append(pool_of_a_new_cache()))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(pool) for pool in pools}) == 1
    other = RedisCache("redis://127.0.0.1:6379/14", {}).client.get_client().connection_pool
    assert other is not pools[0]


def test_a_client_may_negotiate_but_only_for_json(customer_api, customer):
    order = make_order(owner=customer)
    for accept in ("*/*", "application/json", "application/*", "text/html, application/json"):
        response = customer_api.get(order_url(order), HTTP_ACCEPT=accept)
        assert response.status_code == 200, accept
        assert response["Content-Type"] == "application/json"
    assert customer_api.get(order_url(order), HTTP_ACCEPT="text/html").status_code == 406


def test_orders_of_one_garment_share_its_colours_and_placements(
    customer_api, customer, monkeypatch
):
    """The garment's colours (with the sizes in stock) and placements are read once for all its
    orders and kept CATALOGUE_TTL seconds: a stock change made without saving the garment shows
    after that; a saved garment (the admin) shows at once."""
    timeouts: dict[str, object] = {}
    real_set = cache.set

    def recording_set(key, value, timeout=None, *args, **kwargs):
        timeouts[key] = timeout
        return real_set(key, value, timeout, *args, **kwargs)

    monkeypatch.setattr(cache, "set", recording_set)
    first = make_order(owner=customer, sizes=[("M", 1)])
    second = make_order(owner=customer, garment=first.garment, sizes=[("M", 1)])
    customer_api.get("/api/production")  # the token's user, as on every request

    def read(order) -> tuple[dict, int]:
        cache.delete(f"order-json-version:{order.pk}")  # its JSON read afresh
        with CaptureQueriesContext(connection) as queries:
            garment = customer_api.get(order_url(order)).json()["order"]["garment"]
        return garment, len(queries.captured_queries)

    cold, cold_queries = read(first)
    warm, warm_queries = read(second)
    assert warm == cold and "L" in warm["colors"][0]["sizes"]
    assert warm_queries == cold_queries - 3  # no colours, variants or placements read again
    assert {t for k, t in timeouts.items() if k.startswith("garment-catalogue:")} == {CATALOGUE_TTL}

    Variant.objects.filter(garment=first.garment, size="L").update(in_stock=False)
    assert "L" in read(second)[0]["colors"][0]["sizes"]  # within CATALOGUE_TTL
    first.garment.save()
    assert "L" not in read(second)[0]["colors"][0]["sizes"]
