"""Who may do what: the spec's `requireOperatorAccess`, in one place for every surface."""

from uuid import uuid4

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, transaction
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject
from rest_framework.permissions import BasePermission

OPERATOR_PERMISSION = "production.operate_orders"
OPERATORS_GROUP = "Operators"

# How long a cached answer of `is_operator` may live: the bound on a change of access that no
# signal announces (raw SQL, a data migration, another backend's own rule) or that was made while
# Redis was unreachable. Changes through Django's models take effect on the next request.
ACCESS_TTL = 60
ACCESS_GENERATION_KEY = "access-generation"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def is_operator(user: object) -> bool:
    """Whether `user` holds the operator permission: through the Operators group, granted
    directly, as a superuser, or from any other configured authentication backend.

    Django's `has_perm` reads the user's and their groups' permissions in two queries, ~1.9 ms
    on PostgreSQL here — a tenth of an operator's PATCH, and every page asks (the header's
    operator link). Its answer is kept in the shared cache per user, under a generation token
    that every change of who may do what replaces (`forget_access`, from production.signals),
    and remembered on the user object for the rest of the request. An inactive user is refused
    before anything is asked.
    """
    if not getattr(user, "is_active", False):
        return False
    known = getattr(user, "_is_operator", None)
    if known is None:
        known = user._is_operator = _cached_answer(user)
    return known


def _cached_answer(user: object) -> bool:
    """`has_perm`'s answer under the current generation, from the cache or asked and stored.

    Stored under the generation read *before* asking: a change committing in between replaces
    the generation, so the answer it made stale is never read (as for orders: see
    `production.order_reads`). Redis unreachable: every read is a miss and is asked of the
    database.
    """
    key = f"is-operator:{user.pk}"
    found = cache.get_many([ACCESS_GENERATION_KEY, key])
    generation, entry = found.get(ACCESS_GENERATION_KEY), found.get(key)
    if generation is not None and entry is not None and entry[0] == generation:
        return entry[1]
    if generation is None:
        cache.add(ACCESS_GENERATION_KEY, uuid4().hex, ACCESS_TTL * 10)  # the first one wins
        generation = cache.get(ACCESS_GENERATION_KEY)
    answer = user.has_perm(OPERATOR_PERMISSION)
    if generation is not None:
        cache.set(key, (generation, answer), ACCESS_TTL)
    return answer


def session_user(request: HttpRequest) -> object:
    """`django.contrib.auth.get_user` (Django 5.2's, the session's user or AnonymousUser), with
    the user's row kept in the shared cache beside their `is_operator` answer, under the same
    generation: one cache round trip instead of a query and a cache round trip on every request.

    Only for sessions that Django's ModelBackend logged in (other backends load their users
    themselves). Every change of a user through Django (a password, `is_active`, a name, their
    groups) replaces the generation, so the next request reads the row again; the session's hash
    of the password is checked against the row as Django does. Redis unreachable: the row is
    read from the database, as without the cache.
    """
    session = request.session
    try:
        user_id = get_user_model()._meta.pk.to_python(session[SESSION_KEY])
        backend_path = session[BACKEND_SESSION_KEY]
    except (KeyError, ValidationError, ValueError):
        return AnonymousUser()
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return AnonymousUser()
    if backend_path == MODEL_BACKEND:
        user = _cached_user(user_id)
    else:
        user = load_backend(backend_path).get_user(user_id)
    if user is None:
        return AnonymousUser()
    # Django's session check: the hash of the password the session was made with.
    session_hash = session.get(HASH_SESSION_KEY)
    # A user from the cache carries the hash, not the password's (kept out of the cache).
    session_auth_hash = getattr(user, "_session_auth_hash", None) or user.get_session_auth_hash()
    if session_hash and constant_time_compare(session_hash, session_auth_hash):
        return user
    if session_hash and any(
        constant_time_compare(session_hash, fallback)
        for fallback in user.get_session_auth_fallback_hash()
    ):
        session.cycle_key()
        session[HASH_SESSION_KEY] = session_auth_hash
        return user
    session.flush()
    return AnonymousUser()


def _cached_user(user_id: object) -> object | None:
    """The active user `user_id` (None: gone or inactive), from the cache under the current
    generation, or read (as ModelBackend does) and stored; their cached `is_operator` answer
    comes with them (same round trip) and is remembered on the object."""
    model = get_user_model()
    user_key, operator_key = f"session-user:{user_id}", f"is-operator:{user_id}"
    found = cache.get_many([ACCESS_GENERATION_KEY, user_key, operator_key])
    generation = found.get(ACCESS_GENERATION_KEY)
    entry, answer = found.get(user_key), found.get(operator_key)
    if generation is not None and entry is not None and entry[0] == generation:
        # The password stays deferred (read only if something asks for it); the session's check
        # uses the hash kept beside the row.
        user = model.from_db(DEFAULT_DB_ALIAS, entry[1], entry[2])
        user._session_auth_hash = entry[3]
    else:
        if generation is None:
            cache.add(ACCESS_GENERATION_KEY, uuid4().hex, ACCESS_TTL * 10)  # the first one wins
            generation = cache.get(ACCESS_GENERATION_KEY)
        user = model._default_manager.filter(pk=user_id).first()
        if user is not None and generation is not None:
            # Never the password hash in the shared cache: the session check's HMAC of it instead.
            names = [f.attname for f in model._meta.concrete_fields if f.attname != "password"]
            values = [getattr(user, name) for name in names]
            entry = (generation, names, values, user.get_session_auth_hash())
            cache.set(user_key, entry, ACCESS_TTL)
    if user is None or not user.is_active:
        return None
    if generation is not None and answer is not None and answer[0] == generation:
        user._is_operator = answer[1]
    return user


class SessionUserMiddleware(AuthenticationMiddleware):
    """Django's AuthenticationMiddleware, its `request.user` loaded by `session_user`."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: _request_user(request))


def _request_user(request: HttpRequest) -> object:
    if not hasattr(request, "_cached_user"):
        request._cached_user = session_user(request)
    return request._cached_user


def forget_access() -> None:
    """Who may do what is changing: every cached `is_operator` answer is dropped, now and again
    once the current transaction commits (a request reading between the two, on the old rows,
    stores under the first generation, which nobody reads after the second)."""
    _new_generation()
    transaction.on_commit(_new_generation, robust=True)


def _new_generation() -> None:
    cache.set(ACCESS_GENERATION_KEY, uuid4().hex, ACCESS_TTL * 10)


def can_view_order(user: object, order: object) -> bool:
    if isinstance(user, AnonymousUser) or not getattr(user, "is_authenticated", False):
        return False
    return order.owner_id == user.pk or is_operator(user)


class IsOperator(BasePermission):
    message = "Operator access required."

    def has_permission(self, request, view) -> bool:
        return is_operator(request.user)


def operators_group() -> Group:
    """The Operators group with its permission (made by a migration; recreated if missing)."""
    group, _ = Group.objects.get_or_create(name=OPERATORS_GROUP)
    permission = Permission.objects.get(
        codename=OPERATOR_PERMISSION.split(".")[1], content_type__app_label="production"
    )
    group.permissions.add(permission)
    return group
