"""Who may do what: the spec's `requireOperatorAccess`, in one place for every surface."""

from uuid import uuid4

from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.core.cache import cache
from django.db import transaction
from rest_framework.permissions import BasePermission

OPERATOR_PERMISSION = "production.operate_orders"
OPERATORS_GROUP = "Operators"

# How long a cached answer of `is_operator` may live: the bound on a change of access that no
# signal announces (raw SQL, a data migration, another backend's own rule) or that was made while
# Redis was unreachable. Changes through Django's models take effect on the next request.
ACCESS_TTL = 60
ACCESS_GENERATION_KEY = "access-generation"


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
