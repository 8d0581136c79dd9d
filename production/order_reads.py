"""The cached order read: GET /api/production/<id> answered from the shared cache without a query.

Everything the read and its invalidation must agree on lives here. Keys in the shared cache:
`order-json-version:<id>` (the order's version, a random token), `order-json:<id>:<version>:<date>`
(its JSON; etaDays depends on the date, so a new day is a new key) and `api-token-user:<hash>`
(what rebuilds an API token's user), and `orders-version` (replaced with every order's version:
see `orders_version`).

A reader reads the version, then, on a miss, the order from the database, and stores its JSON
under the version it read first. A writer (the services) replaces the version through
`invalidate`, twice:

- inside its transaction, so a read later in that transaction, or right after the commit while
  the after-commit hooks have not run yet, misses the old JSON;
- again after commit. This closes the commit race: a reader on another connection that reads the
  version set inside the transaction and then the row before the commit (still the old one)
  stores the old JSON under that version. Without the second replacement that stale JSON would be
  served after the commit, until it expired; with it, nobody reads that version again.

Changes that bypass the services (a garment renamed in the admin) show after TTL at most.

What is stored under a version never changes, so each process also keeps the entries it read, with
their encoded body, no longer than the shared entry lives (LOCAL_ENTRIES, least recently used out).
A warm read then needs two values from Redis: the token's user and the order's version.
`token_user` fetches both in one MGET when the request is a GET of one order and leaves the version
on the request, where `read_order` takes it once (a read after a write asks Redis again).

Redis down: django-redis (IGNORE_EXCEPTIONS) answers every read as a miss and drops every write, so
each read goes to the database.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache as once
from functools import cached_property, partial
from typing import TYPE_CHECKING
from uuid import UUID, uuid4

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import router, transaction
from django.http import HttpRequest
from django.utils import timezone

from production.plumbing.json_bytes import dumps

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

TTL = 60  # seconds: the backstop for changes made outside the services (and for token users)
LOCAL_ENTRIES = 512  # per process; an entry (an order with 10 events) holds ~18 kB
ORDERS_VERSION_KEY = "orders-version"  # see `orders_version`
_READ_AHEAD = "order_versions_read_ahead"  # request attribute: {order id: version or None}

# The owner's id and the order's JSON, or None for no such order (given by the selectors).
Loader = Callable[[UUID], "tuple[int, dict] | None"]


@dataclass(frozen=True, eq=False)
class CachedOrder:
    """One version of an order's API JSON. Shared between requests: never mutate `payload`."""

    pk: UUID
    owner_id: int
    payload: dict
    stored_at: float  # `clock()` when it entered the shared cache

    @cached_property
    def body(self) -> bytes:
        """`{"order": payload}` encoded exactly as the API's JSON renderer encodes it."""
        return dumps({"order": self.payload})


def _version_key(order_id: UUID) -> str:
    return f"order-json-version:{order_id}"


def _json_key(order_id: UUID, version: str) -> str:
    return f"order-json:{order_id}:{version}:{timezone.localdate().isoformat()}"


def _token_key(key: str) -> str:
    # The token itself is never a key. ("api-token:" held pickled users: a rolling deploy must not
    # hand those to this code.)
    return "api-token-user:" + hashlib.sha256(key.encode()).hexdigest()


def clock() -> float:
    """The time this process's copies are dated and expired by: `time.time()`. A name of its own,
    so that a test moves the clock forward instead of waiting for it."""
    return time.time()


# Reading an order.


def read_order(
    order_id: UUID, *, load: Loader, request: HttpRequest | None = None
) -> CachedOrder | None:
    """The order's JSON: this process's copy, the shared cache's, or `load`'s (then stored)."""
    fresh = _take_fresh_version(order_id)
    version = fresh or _version(order_id, request)
    key = _json_key(order_id, version)
    # A version this thread has just made holds nothing yet: no need to ask for its JSON.
    entry = None if fresh else _local_copy(key)
    if entry is None:
        stored = None if fresh else cache.get(key)
        if stored is None:
            loaded = load(order_id)
            if loaded is None:
                cache.delete(_version_key(order_id))  # probing random ids must not fill the cache
                return None
            stored = (*loaded, clock())
            cache.set(key, stored, TTL)
        owner_id, payload, stored_at = stored
        entry = CachedOrder(pk=order_id, owner_id=owner_id, payload=payload, stored_at=stored_at)
        _keep(key, entry)
    return entry


def _version(order_id: UUID, request: HttpRequest | None) -> str:
    ahead = getattr(request, _READ_AHEAD, {})
    version = ahead.pop(order_id) if order_id in ahead else cache.get(_version_key(order_id))
    if version is None:
        cache.add(_version_key(order_id), uuid4().hex, TTL * 10)  # the first reader's token wins
        version = cache.get(_version_key(order_id)) or uuid4().hex
    return version


# This process's copies.

_local: OrderedDict[str, CachedOrder] = OrderedDict()
_local_lock = threading.Lock()


def _local_copy(key: str) -> CachedOrder | None:
    with _local_lock:
        entry = _local.get(key)
        if entry is None:
            return None
        if clock() - entry.stored_at >= TTL:  # the shared entry is gone by now: so is this
            del _local[key]
            return None
        _local.move_to_end(key)
        return entry


def _keep(key: str, entry: CachedOrder) -> None:
    with _local_lock:
        _local[key] = entry
        _local.move_to_end(key)
        while len(_local) > LOCAL_ENTRIES:
            _local.popitem(last=False)


# Invalidation (the services, inside the transaction that changes the order).


def invalidate(order_id: UUID) -> None:
    """A new version now and another after commit (the commit race: see the module's docstring)."""
    _new_version(order_id)
    transaction.on_commit(partial(_replace_after_commit, order_id), robust=True)


def _new_version(order_id: UUID) -> str:
    version = uuid4().hex
    # The orders' version changes with each order's, in the same round trip.
    cache.set_many({_version_key(order_id): version, ORDERS_VERSION_KEY: version}, TTL * 10)
    return version


def orders_version() -> str:
    """A token that changes whenever any order changes through the services, replaced with that
    order's own version (so with the same commit race closed): what reads of many orders (the
    production board) key their cached copies by. Unknown (a fresh or restarted cache): a new one.
    """
    version = cache.get(ORDERS_VERSION_KEY)
    if version is None:
        version = uuid4().hex
        cache.add(ORDERS_VERSION_KEY, version, TTL * 10)
    return version


# The version this thread made last after a commit: the read of that order that follows in the
# thread (a PATCH's answer) starts from it, which saves asking the shared cache for the version it
# was just given and for JSON that cannot be stored under it yet (two round trips). One slot,
# taken by the first read of that order: a slot nobody takes (a webhook delivery, a bulk move:
# the live pages' processes read the order, `frames.frames_for`) only makes a later read of
# that order in this thread load it from the database once and store it under a version nobody
# reads any more — never a stale answer, since that read skips the cached copies.
_fresh = threading.local()


def _replace_after_commit(order_id: UUID) -> None:
    _fresh.slot = (order_id, _new_version(order_id))


def _take_fresh_version(order_id: UUID) -> str | None:
    slot = getattr(_fresh, "slot", None)
    if slot is None or slot[0] != order_id:
        return None
    _fresh.slot = None
    return slot[1]


# API tokens' users.


def token_user(request: HttpRequest, key: str) -> AbstractBaseUser | None:
    """The user of API token `key` as cached (None: unknown here, ask the database and
    `remember_token`). On a GET of one order, that order's version comes in the same round trip
    and waits on the request for `read_order`."""
    keys = [_token_key(key)]
    order_id = _order_requested(request)
    if order_id is not None:
        keys.append(_version_key(order_id))
    values = cache.get_many(keys)
    if order_id is not None:
        setattr(request, _READ_AHEAD, {order_id: values.get(keys[1])})
    fields = values.get(keys[0])
    if fields is None:
        return None
    User = get_user_model()
    return User.from_db(router.db_for_read(User), _user_fields(), fields)


def remember_token(key: str, user: AbstractBaseUser) -> None:
    """Cache what rebuilds `user` for TTL seconds (the password hash stays in the database)."""
    cache.set(_token_key(key), tuple(getattr(user, name) for name in _user_fields()), TTL)


def forget_tokens(keys: list[str]) -> None:
    """A deleted token or a saved user: the cached users go at once."""
    cache.delete_many([_token_key(key) for key in keys])


@once
def _user_fields() -> tuple[str, ...]:
    fields = get_user_model()._meta.concrete_fields
    return tuple(field.attname for field in fields if field.attname != "password")


def _order_requested(request: HttpRequest) -> UUID | None:
    # Known by its URL name: the one read that needs the version as early as the token's user.
    match = request.resolver_match
    if request.method != "GET" or match is None or match.url_name != "api-order-detail":
        return None
    try:
        return UUID(str(match.kwargs["order_id"]))
    except ValueError:
        return None  # a 404 further on
