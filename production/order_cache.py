"""A shared cache of each order's API JSON, for the hot read path (GET /api/production/<id>).

Every order has a version token in the cache. A reader reads the token, then the order, and stores
the JSON under that token; a writer replaces the token. The services replace it twice: at once
(so the rest of the same request reads fresh), and again after commit — a reader that raced the
commit stored its JSON under a token nobody reads again. Writes that bypass the services (a
garment renamed in the admin) show after TTL at most.
"""

from functools import partial
from uuid import UUID, uuid4

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

TTL = 60  # seconds: the backstop for changes made outside the services


def _version_key(order_id: UUID) -> str:
    return f"order-json-version:{order_id}"


def _payload_key(order_id: UUID, version: str) -> str:
    # etaDays depends on the date, so a new day is a new version.
    return f"order-json:{order_id}:{version}:{timezone.localdate().isoformat()}"


def invalidate(order_id: UUID) -> None:
    """Called by the services inside the transaction that changes the order."""
    _new_version(order_id)
    transaction.on_commit(partial(_new_version, order_id), robust=True)


def _new_version(order_id: UUID) -> None:
    cache.set(_version_key(order_id), uuid4().hex, TTL * 10)


def forget(order_id: UUID) -> None:
    """Drop the version of an order that does not exist (no writer can race this)."""
    cache.delete(_version_key(order_id))


def current_version(order_id: UUID) -> str:
    key = _version_key(order_id)
    version = cache.get(key)
    if version is None:
        cache.add(key, uuid4().hex, TTL * 10)  # first reader wins; others read its token
        version = cache.get(key) or uuid4().hex
    return version


def load(order_id: UUID, version: str) -> tuple[int, dict] | None:
    """(owner id, order JSON) stored under this version, if any."""
    return cache.get(_payload_key(order_id, version))


def store(order_id: UUID, version: str, owner_id: int, payload: dict) -> None:
    cache.set(_payload_key(order_id, version), (owner_id, payload), TTL)
