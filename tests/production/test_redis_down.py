"""Redis accelerates; it is never a single point of failure.

With the cache's Redis unreachable (a port nothing listens on) every surface still answers from
the database, and every write lands. `/readyz` says which dependency is down.
"""

import logging

import pytest
from django.db import OperationalError, connection
from django.test import Client

from payments.services import start_checkout
from production.lifecycle import OrderState
from production.models import OrderNote, ProductionOrder
from tests.factories import make_order
from tests.payments.stripe_events import checkout_session, deliver, stripe_event
from tests.realtime_support import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_down(settings):
    """The production cache configuration (config/settings.py), pointed at a dead Redis."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings.REDIS_URL = dead
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": dead,
            "OPTIONS": {
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
            },
        }
    }
    settings.SITE_URL = "http://shop.test"
    return dead


def test_readyz_is_ok_when_everything_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["down"] == []


def test_readyz_names_redis_as_degraded_and_stays_in_the_balancer(client, redis_down, caplog):
    with caplog.at_level(logging.WARNING):
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": "ok", "redis": "down"},
        "down": ["redis"],
    }
    assert "Readiness: redis is down" in caplog.text


def test_a_failing_cache_is_logged(redis_down, caplog):
    # The "django_redis" logger does not propagate to the root (LOGGING): listen on it.
    from django.core.cache import cache

    listened = logging.getLogger("django_redis")
    listened.addHandler(caplog.handler)
    try:
        assert cache.get("any-key") is None  # the miss the site sees: it goes on from the database
    finally:
        listened.removeHandler(caplog.handler)
    [record] = [r for r in caplog.records if r.name == "django_redis.cache"]
    assert record.getMessage() == "Exception ignored"
    assert record.exc_info is not None  # with the connection error's traceback


def test_readyz_is_503_naming_the_database_when_it_is_down(client):
    def refused(execute, sql, params, many, context):  # every statement, as a database down
        raise OperationalError("connection refused")

    with connection.execute_wrapper(refused):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["down"] == ["database"]


def test_healthz_touches_no_dependency(client, redis_down, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client.get("/healthz").json() == {"status": "ok"}


def test_every_surface_serves_from_the_database_while_redis_is_down(
    redis_down, customer, customer_api, operator, operator_api, garment
):
    approved = make_order(owner=customer, garment=garment, state=OrderState.APPROVED)
    draft = make_order(owner=customer, garment=garment)
    start_checkout(order=draft)
    draft = ProductionOrder.objects.get(pk=draft.pk)

    # Scripts: token reads and an operator's PATCH.
    assert customer_api.get(f"/api/production/{approved.pk}").status_code == 200
    patched = operator_api.patch(
        f"/api/production/{approved.pk}", {"status": "in_production"}, format="json"
    )
    assert patched.status_code == 200
    assert customer_api.get(f"/api/production/{approved.pk}").json()["order"]["orderStatus"] == (
        "in_production"
    )
    assert customer_api.get("/api/production").status_code == 200

    # Browsers: log in (session), the customer's pages, the ops list and an ops note.
    browser = Client()
    login = browser.post(
        "/accounts/login/", {"username": customer.email, "password": "pw-for-tests-123"}
    )
    assert login.status_code == 302
    assert browser.get(f"/orders/{approved.pk}/").status_code == 200
    assert browser.get("/orders/").status_code == 200
    ops = Client()
    ops.force_login(operator)
    assert ops.get("/ops/orders").status_code == 200
    noted = ops.post(
        f"/ops/orders/{approved.pk}/actions", {"action": "note", "body": "Redis is down, we work"}
    )
    assert noted.status_code in (200, 302)
    assert OrderNote.objects.filter(order=approved, body="Redis is down, we work").exists()

    # Stripe: a paid checkout still submits the order.
    event = stripe_event("checkout.session.completed", checkout_session(draft), "evt_redis_down")
    assert deliver(Client(), event).json()["outcome"] == "submitted"
    assert ProductionOrder.objects.get(pk=draft.pk).status == OrderState.SUBMITTED
