"""Who may do what: the spec's `requireOperatorAccess`, in one place for every surface."""

from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.db.models import Q
from rest_framework.permissions import BasePermission

OPERATOR_PERMISSION = "production.operate_orders"
OPERATORS_GROUP = "Operators"


def is_operator(user: object) -> bool:
    """Whether `user` holds the operator permission (directly, through a group, or as superuser).

    One query, remembered on the user object for the rest of the request; Django's own
    `has_perm` loads every user and group permission in two.
    """
    if not getattr(user, "is_active", False):
        return False
    cached = getattr(user, "_is_operator", None)
    if cached is None:
        app_label, codename = OPERATOR_PERMISSION.split(".")
        cached = user.is_superuser or (
            Permission.objects.filter(Q(user=user) | Q(group__user=user))
            .filter(codename=codename, content_type__app_label=app_label)
            .exists()
        )
        user._is_operator = cached
    return cached


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
