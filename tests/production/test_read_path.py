"""The hot read path of GET /api/production/<id>: what it asks of the shared cache, and how."""

import threading

import pytest
from django.core.cache import cache
from django_redis.cache import RedisCache

from production import order_cache, read_ahead
from tests.factories import make_order

pytestmark = pytest.mark.django_db


def order_url(order) -> str:
    return f"/api/production/{order.pk}"


class CacheCalls:
    """Counts the shared-cache reads the code under test makes."""

    def __init__(self, monkeypatch) -> None:
        self.calls: list[str] = []
        self.depth = 0
        for name in ("get", "get_many"):
            original = getattr(cache, name)

            def counted(*args, _name=name, _original=original, **kwargs):
                if not self.depth:  # the local-memory cache's get_many calls its get
                    self.calls.append(_name)
                self.depth += 1
                try:
                    return _original(*args, **kwargs)
                finally:
                    self.depth -= 1

            monkeypatch.setattr(cache, name, counted)


def test_a_warm_read_asks_the_cache_once(customer_api, customer, monkeypatch):
    order = make_order(owner=customer)
    first = customer_api.get(order_url(order))
    calls = CacheCalls(monkeypatch)

    again = customer_api.get(order_url(order))

    # The token's user and the order's version in one MGET; the JSON is this process's copy.
    assert calls.calls == ["get_many"]
    assert again.content == first.content


def test_a_read_right_after_a_change_sees_the_change(customer_api, operator_api, customer):
    order = make_order(owner=customer, state="submitted")
    customer_api.get(order_url(order))
    patched = operator_api.patch(order_url(order), {"status": "approved"}, format="json")
    assert patched.status_code == 200
    assert customer_api.get(order_url(order)).json()["order"]["orderStatus"] == "approved"


def test_a_value_read_ahead_is_handed_out_once():
    cache.set("k", "before")
    with read_ahead.read_ahead(["k", "absent"]):
        cache.set("k", "after")  # e.g. the request's own write
        assert read_ahead.cache_get("k") == "before"  # as read at the start of the request
        assert read_ahead.cache_get("k") == "after"  # later reads go to the cache
        assert read_ahead.cache_get("absent") is None
    assert read_ahead.cache_get("k") == "after"


def test_the_read_ahead_is_private_to_its_thread():
    cache.set("k", "shared")
    seen: list[object] = []
    with read_ahead.read_ahead(["k"]):
        cache.set("k", "changed")
        thread = threading.Thread(target=lambda: seen.append(read_ahead.cache_get("k")))
        thread.start()
        thread.join()
    assert seen == ["changed"]


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


def test_this_process_keeps_a_bounded_number_of_orders(monkeypatch, customer):
    monkeypatch.setattr(order_cache, "LOCAL_ENTRIES", 3)
    from production.selectors import get_cached_order

    orders = [make_order(owner=customer) for _ in range(5)]
    for order in orders:
        get_cached_order(order_id=order.pk)
    assert len(order_cache._local) == 3
