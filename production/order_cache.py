"""A shared cache of each order's API JSON, for the hot read path (GET /api/production/<id>).

Every order has a version token in the cache. A reader reads the token, then the order, and stores
the JSON under that token; a writer replaces the token. The services replace it twice: at once
(so the rest of the same request reads fresh), and again after commit — a reader that raced the
commit stored its JSON under a token nobody reads again. Writes that bypass the services (a
garment renamed in the admin) show after TTL at most.

What is stored under a token never changes, so each process also keeps the entries it read (and
their encoded response body) in memory, up to the same TTL: a warm read then asks the shared cache
for the token only, and sends bytes encoded once.
"""

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property, partial
from uuid import UUID, uuid4

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from production.read_ahead import cache_get

TTL = 60  # seconds: the backstop for changes made outside the services
LOCAL_ENTRIES = 512  # per process; an entry (an order with 10 events) holds ~18 kB


@dataclass(frozen=True, eq=False)
class CachedOrder:
    """One version of an order's API JSON. Shared between requests: never mutate `payload`."""

    pk: UUID
    owner_id: int
    payload: dict
    stored_at: float  # time.time() when it entered the shared cache

    @cached_property
    def body(self) -> bytes:
        """`{"order": payload}` encoded exactly as the API's JSON renderer encodes it."""
        return JSONRenderer().render({"order": self.payload})


def _now() -> float:
    return time.time()


_local: "OrderedDict[str, CachedOrder]" = OrderedDict()
_local_lock = threading.Lock()


def version_key(order_id: UUID) -> str:
    return f"order-json-version:{order_id}"


def _payload_key(order_id: UUID, version: str) -> str:
    # etaDays depends on the date, so a new day is a new version.
    return f"order-json:{order_id}:{version}:{timezone.localdate().isoformat()}"


def invalidate(order_id: UUID) -> None:
    """Called by the services inside the transaction that changes the order."""
    _new_version(order_id)
    transaction.on_commit(partial(_new_version, order_id), robust=True)


def _new_version(order_id: UUID) -> None:
    cache.set(version_key(order_id), uuid4().hex, TTL * 10)


def forget(order_id: UUID) -> None:
    """Drop the version of an order that does not exist (no writer can race this)."""
    cache.delete(version_key(order_id))


def current_version(order_id: UUID) -> str:
    key = version_key(order_id)
    version = cache_get(key)
    if version is None:
        cache.add(key, uuid4().hex, TTL * 10)  # first reader wins; others read its token
        version = cache.get(key) or uuid4().hex
    return version


def load(order_id: UUID, version: str) -> CachedOrder | None:
    """The order's JSON stored under this version, if any (this process's copy first)."""
    key = _payload_key(order_id, version)
    now = _now()
    with _local_lock:
        entry = _local.get(key)
        if entry is not None:
            if now - entry.stored_at < TTL:
                _local.move_to_end(key)
                return entry
            del _local[key]
    stored = cache.get(key)
    if stored is None:
        return None
    owner_id, payload, stored_at = stored
    entry = CachedOrder(pk=order_id, owner_id=owner_id, payload=payload, stored_at=stored_at)
    _keep(key, entry)
    return entry


def store(order_id: UUID, version: str, owner_id: int, payload: dict) -> CachedOrder:
    key = _payload_key(order_id, version)
    entry = CachedOrder(pk=order_id, owner_id=owner_id, payload=payload, stored_at=_now())
    cache.set(key, (owner_id, payload, entry.stored_at), TTL)
    _keep(key, entry)
    return entry


def _keep(key: str, entry: CachedOrder) -> None:
    with _local_lock:
        _local[key] = entry
        _local.move_to_end(key)
        while len(_local) > LOCAL_ENTRIES:
            _local.popitem(last=False)


def clear_local() -> None:
    """Forget this process's copies (tests that clear the shared cache clear these too)."""
    with _local_lock:
        _local.clear()
